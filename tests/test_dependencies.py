"""The dependencies are declared once (pyproject.toml) and the other lists stay in step with it.

- requirements.txt pins every declared dependency to one version inside its range (the tested
  pin set) and installs the workbook with every extra;
- environment.yml lists every declared dependency with the same range, from conda-forge or pip;
- everything the workbook's code, tests and benchmarks import is declared.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the CI machine has it

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "serverless-image-workbook"
OWN_PACKAGES = {"helpers", "localcloud", "tests", "benchmarks"}
# Folders whose imports must be declared: what installs, and what the test suite runs.
SOURCES = ("helpers", "localcloud", "tests", "benchmarks")

Declared = dict[str, Requirement]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared() -> dict[str, Declared]:
    """group ("core" or an extra) -> canonical name -> requirement; the self-references left out."""
    project = pyproject()["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    found: dict[str, Declared] = {}
    seen: set[str] = set()
    for group, lines in groups.items():
        found[group] = {}
        for line in lines:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            if name == PROJECT:
                continue
            assert name not in seen, f"{req.name} is declared twice in pyproject.toml"
            seen.add(name)
            found[group][name] = req
    return found


def all_declared() -> Declared:
    return {name: req for group in declared().values() for name, req in group.items()}


def requirement_lines(lines: list[str]) -> tuple[Declared, list[str]]:
    """(name -> requirement, option lines such as ``-e .[...]``) of a pip requirements list."""
    found: Declared = {}
    options = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in found, f"{req.name} is listed twice"
        found[name] = req
    return found, options


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_and_pip(env: dict) -> tuple[Declared, Declared, list[str]]:
    """environment.yml's conda packages, its pip packages and its pip options."""
    conda_lines = [d for d in env["dependencies"] if isinstance(d, str) and not re.match(r"^(python|pip)\b", d)]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    conda, _ = requirement_lines(conda_lines)
    pip, options = requirement_lines(pip_sections[0])
    return conda, pip, options


def installs_every_extra(options: list[str]) -> bool:
    """Whether the options are exactly one editable install of the workbook with every extra."""
    found = [re.fullmatch(r"-e \.\[([a-z,]+)\]", option) for option in options]
    extras = set(pyproject()["project"]["optional-dependencies"])
    return len(found) == 1 and found[0] is not None and set(found[0][1].split(",")) == extras


def test_requirements_txt_pins_every_declared_dependency_inside_its_range() -> None:
    pins, options = requirement_lines((ROOT / "requirements.txt").read_text().splitlines())
    ours = all_declared()
    assert sorted(ours.keys() - pins.keys()) == [], "declared in pyproject.toml but not pinned in requirements.txt"
    assert sorted(pins.keys() - ours.keys()) == [], "pinned in requirements.txt but not declared in pyproject.toml"
    problems = []
    for name, pin in pins.items():
        exact = [spec.version for spec in pin.specifier if spec.operator == "=="]
        if len(exact) != 1:
            problems.append(f"{name}: {pin.specifier} is not one exact version")
        elif exact[0] not in ours[name].specifier:
            problems.append(f"{name}=={exact[0]} is outside pyproject.toml's {ours[name].specifier}")
        if pin.extras != ours[name].extras:
            problems.append(f"{name}: extras {sorted(pin.extras)} differ from {sorted(ours[name].extras)}")
    assert problems == []
    assert installs_every_extra(options), f"requirements.txt installs the workbook with every extra, not {options}"


def test_environment_yml_lists_every_declared_dependency_with_the_same_range() -> None:
    conda, pip, options = conda_and_pip(environment())
    ours = all_declared()
    both = conda.keys() & pip.keys()
    assert both == set(), "listed both for conda and for pip"
    theirs = {**conda, **pip}
    assert sorted(ours.keys() - theirs.keys()) == [], "declared in pyproject.toml but not in environment.yml"
    assert sorted(theirs.keys() - ours.keys()) == [], "in environment.yml but not declared in pyproject.toml"
    differ = {name: (str(ours[name].specifier), str(theirs[name].specifier))
              for name in ours if ours[name].specifier != theirs[name].specifier}
    assert differ == {}, "ranges differ (pyproject.toml, environment.yml)"
    # conda packages have no extras; a dependency with extras must come through pip.
    assert [name for name in conda if ours[name].extras] == []
    assert [name for name in pip if pip[name].extras != ours[name].extras] == []
    assert installs_every_extra(options), f"environment.yml installs the workbook with every extra, not {options}"


def test_environment_yml_uses_conda_forge_and_the_projects_python() -> None:
    env = environment()
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    python = [d for d in conda if re.match(r"^python\b", d)]
    requires_python = pyproject()["project"]["requires-python"]
    assert python and SpecifierSet(python[0].removeprefix("python")) == SpecifierSet(requires_python)
    assert "pip" in conda


def imported_distributions() -> dict[str, set[str]]:
    """distribution -> the files importing it, over every module the workbook ships or tests run."""
    distributions = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in OWN_PACKAGES:
                        continue
                    for distribution in distributions.get(top, [f"<no installed distribution for {top}>"]):
                        found.setdefault(canonicalize_name(distribution), set()).add(
                            str(path.relative_to(ROOT)))
    return found


def test_everything_imported_is_declared() -> None:
    # Transitive dependencies do not count: a package the code imports itself is declared, so
    # it cannot vanish when a dependency drops it (PyYAML and packaging once came that way).
    missing = {name: sorted(files)[:3] for name, files in imported_distributions().items()
               if name not in all_declared()}
    assert missing == {}, "imported but not declared in pyproject.toml (name: first importers)"


def test_the_comparisons_notice_a_difference() -> None:
    assert requirement_lines(["boto3>=1.40,<2"])[0]["boto3"].specifier != SpecifierSet(">=1.40,<3")
    assert requirement_lines(["moto[server]>=5.2.5"])[0]["moto"].extras == {"server"}
    assert requirement_lines(["Pillow>=11,<14  # images"])[0].keys() == {"pillow"}
    assert requirement_lines(["-e .[lab]"]) == ({}, ["-e .[lab]"])
    assert not installs_every_extra(["-e .[lab]"])
    assert not installs_every_extra(["-e ."])
