"""Student copies of the notebooks: every solution replaced by a scaffold, nothing of it left.

The committed notebooks hold the exercises' solutions, so ``make run``, papermill and nbval
run them whole. In the source a solution sits between nbgrader's markers, optionally with
what to fill in after the first one::

    ### BEGIN SOLUTION: set min_confidence to 90.0
    min_confidence = 90.0
    ### END SOLUTION

``make student`` (``python -m helpers.student``) writes ``student/`` (git-ignored): each
notebook with every marked region replaced by ``# your code here: set min_confidence to 90.0``
(plus ``pass`` where Python needs a statement), every output, execution count and
non-essential metadata removed, and a ``functions/`` and ``statemachine/`` folder of its own
(see :mod:`helpers.workspace`), so a learner's copy never writes over the committed files.
A learner's existing copy is kept unless ``--force``: their work is worth more than ours.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import workspace

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SCAFFOLD = "# your code here"
MARKDOWN_SCAFFOLD = "_Your answer here._"
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEPT_CELL_METADATA = ("tags",)
EXERCISE_CALL = re.compile(r"checks\.exercise\(\s*\"([^\"]+)\"")
# A solution line this short ("}", "pass", ")") says nothing of the solution.
MIN_TELLING_LINE = 12


class SolutionMarkerError(ValueError):
    """The markers of a cell do not pair up: names the notebook and cell."""


@dataclass(frozen=True)
class Written:
    notebook: str
    exercises: tuple[str, ...]
    kept: bool  # the learner's existing copy was left alone


def _source(cell: dict[str, Any]) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _regions(source: str, where: str) -> list[tuple[int, int, str]]:
    """(first line, last line, what to fill in) of each marked region, line numbers 0-based."""
    regions, start, task = [], None, ""
    for number, line in enumerate(source.splitlines()):
        text = line.strip()
        if text.startswith(BEGIN):
            if start is not None:
                raise SolutionMarkerError(f"{where}: {BEGIN} inside another solution (line {number + 1})")
            start, task = number, text[len(BEGIN):].strip(" :—-")
        elif text.startswith(END):
            if start is None:
                raise SolutionMarkerError(f"{where}: {END} without {BEGIN} (line {number + 1})")
            regions.append((start, number, task))
            start = None
    if start is not None:
        raise SolutionMarkerError(f"{where}: {BEGIN} on line {start + 1} is never ended by {END}")
    return regions


def _python_of(source: str) -> str | None:
    """The Python a code cell holds, to check a scaffold parses: a %%writefile .py body, or the cell."""
    first, _, body = source.partition("\n")
    if first.startswith("%%writefile"):
        return body if first.rstrip().endswith(".py") else None
    if first.startswith("%%"):
        return None
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def _parses(python: str | None) -> bool:
    if python is None:
        return True
    try:
        ast.parse(python)
    except SyntaxError:
        return False
    return True


def scaffold(source: str, *, markdown: bool = False, where: str = "cell") -> str:
    """``source`` with each marked solution replaced by what the learner fills in."""
    regions = _regions(source, where)
    if not regions:
        return source
    lines = source.splitlines()
    out: list[str] = []
    previous = 0
    for first, last, task in regions:
        out.extend(lines[previous:first])
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        if markdown:
            out.append(f"{indent}{MARKDOWN_SCAFFOLD}" + (f" ({task})" if task else ""))
        else:
            out.append(f"{indent}{SCAFFOLD}" + (f": {task}" if task else ""))
            out.append(f"{indent}\x00")  # a place for `pass`, kept only where Python needs it
        previous = last + 1
    out.extend(lines[previous:])
    text = "\n".join(out) + ("\n" if source.endswith("\n") else "")
    without = re.sub(r"^[ \t]*\x00\n?", "", text, flags=re.M)
    if markdown or _parses(_python_of(without)):
        return without
    with_pass = text.replace("\x00", "pass")
    if not _parses(_python_of(with_pass)):
        raise SolutionMarkerError(f"{where}: the scaffold is not valid Python; move the markers to whole statements")
    return with_pass


def solutions(source: str, where: str = "cell") -> list[str]:
    """The lines of every marked solution (markers excluded)."""
    lines = source.splitlines()
    return [line for first, last, _ in _regions(source, where) for line in lines[first + 1:last]]


def exercises(notebook: dict[str, Any]) -> tuple[str, ...]:
    """The numbers of the exercises a notebook checks, in order: ``checks.exercise("2.1", ...)``."""
    found = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            found.extend(EXERCISE_CALL.findall(_source(cell)))
    return tuple(found)


def student_copy(notebook: dict[str, Any], name: str = "notebook") -> dict[str, Any]:
    """A student's copy: solutions scaffolded; no outputs, counts or metadata that could hold them."""
    copied = copy.deepcopy(notebook)
    copied["metadata"] = {key: value for key, value in notebook.get("metadata", {}).items()
                          if key in KEPT_NOTEBOOK_METADATA}
    for index, cell in enumerate(copied["cells"]):
        where = f"{name} cell {index}"
        cell["source"] = scaffold(_source(cell), markdown=cell["cell_type"] == "markdown", where=where)
        cell["metadata"] = {key: value for key, value in cell.get("metadata", {}).items()
                            if key in KEPT_CELL_METADATA}
        cell.pop("attachments", None)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    leaks = leaked(notebook, copied, name)
    if leaks:
        raise SolutionMarkerError(f"{name}: the student copy still holds solution lines: {leaks[:3]}")
    return copied


def leaked(solution: dict[str, Any], student: dict[str, Any], name: str = "notebook") -> list[str]:
    """Telling solution lines of ``solution`` found anywhere in ``student``'s JSON."""
    text = json.dumps(student, ensure_ascii=False)
    telling = {line.strip() for index, cell in enumerate(solution["cells"])
               for line in solutions(_source(cell), f"{name} cell {index}")}
    return sorted(line for line in telling
                  if len(line) >= MIN_TELLING_LINE and not line.startswith("#")
                  and json.dumps(line, ensure_ascii=False)[1:-1] in text)


def write(destination: Path | None = None, *, source: Path | None = None, force: bool = False) -> list[Written]:
    """Write student copies of every notebook in ``source`` (the committed notebooks) into
    ``destination`` (the checkout's ``student/``)."""
    destination = destination or workspace.STUDENT_DIR
    source = source or workspace.NOTEBOOKS_DIR
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "functions").mkdir(exist_ok=True)
    shutil.copy2(source / "functions" / "README.md", destination / "functions" / "README.md")
    if workspace.PROVIDED_DIR.is_dir():
        shutil.copytree(workspace.PROVIDED_DIR, destination / "provided", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    machines = destination / "statemachine"
    machines.mkdir(exist_ok=True)
    for definition in workspace.COMMITTED_STATEMACHINE_DIR.glob("*.asl.json"):
        if force or not (machines / definition.name).exists():
            shutil.copy2(definition, machines / definition.name)
    written = []
    for path in sorted(source.glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        copied = student_copy(notebook, path.name)
        target = destination / path.name
        kept = target.exists() and not force
        if not kept:
            target.write_text(json.dumps(copied, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(Written(path.name, exercises(notebook), kept))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.student", description=__doc__.splitlines()[0])
    parser.add_argument("--destination", type=Path, default=None, help="default student/")
    parser.add_argument("--force", action="store_true", help="replace copies that exist (a learner's work is lost)")
    arguments = parser.parse_args(argv)
    try:
        written = write(arguments.destination, force=arguments.force)
    except SolutionMarkerError as error:
        print(f"make student: {error}", file=sys.stderr)
        return 1
    where = (arguments.destination or workspace.STUDENT_DIR).resolve()
    root = workspace.REPO_ROOT
    shown = where.relative_to(root) if where.is_relative_to(root) else where
    for item in written:
        what = f"{len(item.exercises)} exercise(s): {', '.join(item.exercises)}" if item.exercises else "no exercises"
        state = "kept (exists; --force replaces it)" if item.kept else "written"
        print(f"{shown}/{item.notebook}: {state}, {what}")
    print(f"Open them with: make lab NOTEBOOKS={shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
