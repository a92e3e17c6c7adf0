"""environment.yml (conda) and requirements.txt (pip, the Makefile) list the same packages and ranges."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def requirements(lines: list[str]) -> dict[str, tuple[frozenset[str], SpecifierSet]]:
    """name -> (extras, version range) for each requirement line; options and `-e .` are not packages."""
    found: dict[str, tuple[frozenset[str], SpecifierSet]] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in found, f"{req.name} is listed twice"
        found[name] = (frozenset(req.extras), req.specifier)
    return found


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pip_section(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return sections[0]


def test_environment_yml_lists_the_requirements_with_the_same_ranges() -> None:
    pip_lines = (ROOT / "requirements.txt").read_text().splitlines()
    ours, theirs = requirements(pip_lines), requirements(pip_section(environment()))
    assert sorted(theirs.keys() - ours.keys()) == [], "in environment.yml but not in requirements.txt"
    assert sorted(ours.keys() - theirs.keys()) == [], "in requirements.txt but not in environment.yml"
    differ = {name: (str(ours[name][1]), str(theirs[name][1])) for name in ours if ours[name] != theirs[name]}
    assert differ == {}, "ranges or extras differ (requirements.txt, environment.yml)"


def test_environment_yml_uses_conda_forge_and_the_projects_python() -> None:
    env = environment()
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    python = [d for d in conda if re.match(r"^python\b", d)]
    # (tomllib is Python 3.11+; the project supports 3.10)
    requires_python = re.search(r'^requires-python\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert python and SpecifierSet(python[0].removeprefix("python")) == SpecifierSet(requires_python)
    assert "pip" in conda
    assert "-e ." in pip_section(env), "the helpers install in editable mode, as make setup does"


def test_the_comparison_notices_a_different_range() -> None:
    assert requirements(["boto3>=1.40,<2"]) != requirements(["boto3>=1.40,<3"])
    assert requirements(["moto[server]>=5.2.5,<5.3"]) != requirements(["moto>=5.2.5,<5.3"])
    assert requirements(["Pillow>=11,<14  # images"]) == requirements(["pillow<14,>=11"])
