"""Every notebook is a workshop session of one sitting (docs/notebook-style.md).

Build notebooks (01-07): objectives and minutes at the top; exercises with checks and marked
solutions; a recap, "when something goes wrong" and the next notebook at the end. No code
cell over 80 lines anywhere. The minutes stated must cover an estimate of reading and running
the notebook outside its exercises (prose at 200 words a minute, code at 30 lines a minute,
a quarter of a minute to run each cell), and stay within one sitting (35 minutes).
"""

import ast
import json
import re
from pathlib import Path

import pytest

from helpers import student

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
BUILD = [path for path in ALL if 1 <= int(path.name[:2]) <= 7]
MAX_CELL_LINES = 80
MAX_MINUTES = 35
TIME = re.compile(r"\*\*Time:\*\* about (\d+) minutes")
OBJECTIVES = "**After this notebook you can:**"
ENDING = ("## Check", "## Exercises", "## Recap", "## When something goes wrong")


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def estimated_minutes(cells) -> float:
    """Reading and running time of ``cells``, without the Exercises section."""
    minutes, in_exercises = 0.0, False
    for cell in cells:
        text = _text(cell)
        if cell["cell_type"] == "markdown" and text.startswith("## "):
            in_exercises = text.startswith("## Exercises")
        if in_exercises:
            continue
        if cell["cell_type"] == "markdown":
            minutes += len(text.split()) / 200
        else:
            minutes += len(text.splitlines()) / 30 + 0.25
    return minutes


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.stem)
def test_no_code_cell_is_over_80_lines(path):
    long = {index: len(_text(cell).splitlines()) for index, cell in enumerate(_cells(path))
            if cell["cell_type"] == "code" and len(_text(cell).splitlines()) > MAX_CELL_LINES}
    assert not long, f"{path.name}: code cells over {MAX_CELL_LINES} lines (cell: lines): {long}"


@pytest.mark.parametrize("path", BUILD, ids=lambda path: path.stem)
def test_a_build_notebook_opens_with_objectives_and_minutes(path):
    top = _text(_cells(path)[0])
    time = TIME.search(top)
    assert time, f"{path.name}: the first cell states no '**Time:** about N minutes'"
    stated = int(time.group(1))
    estimate = estimated_minutes(_cells(path))
    assert estimate <= stated <= MAX_MINUTES, f"{path.name}: states {stated} min, estimated {estimate:.1f}"
    assert OBJECTIVES in top, f"{path.name}: the first cell has no {OBJECTIVES!r}"
    objectives = re.findall(r"^- ", top.split(OBJECTIVES, 1)[1].split("\n\n", 1)[0], re.M)
    assert 3 <= len(objectives) <= 5, f"{path.name}: {len(objectives)} objectives, expected 3 to 5"


@pytest.mark.parametrize("path", BUILD, ids=lambda path: path.stem)
def test_a_build_notebook_ends_with_check_exercises_recap_troubleshooting_and_next(path):
    cells = _cells(path)
    headings = [_text(cell).splitlines()[0] for cell in cells
                if cell["cell_type"] == "markdown" and _text(cell).startswith("## ")]
    positions = [next((i for i, heading in enumerate(headings) if heading.startswith(part)), None) for part in ENDING]
    assert None not in positions and positions == sorted(positions), \
        f"{path.name}: expected the sections {ENDING} in this order, found {headings}"
    trouble = next(_text(cell) for cell in cells if _text(cell).startswith("## When something goes wrong"))
    assert len(re.findall(r"^- ", trouble, re.M)) >= 2, f"{path.name}: name at least two errors a learner meets"
    number = int(path.name[:2])
    following = next(p for p in ALL if int(p.name[:2]) == number + 1).stem
    assert f"**{following}**" in _text(cells[-1]), f"{path.name}: the last cell should name **{following}**"


@pytest.mark.parametrize("path", BUILD, ids=lambda path: path.stem)
def test_a_build_notebook_has_two_exercises_with_checks_and_marked_solutions(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    numbers = student.exercises(notebook)
    chapter = str(int(path.name[:2]))
    assert len(numbers) >= 2, f"{path.name}: {len(numbers)} exercise checks (checks.exercise), expected at least 2"
    assert all(number.split(".")[0] == chapter for number in numbers), f"{path.name}: exercises {numbers}"
    assert len(set(numbers)) == len(numbers), f"{path.name}: exercise numbers repeat: {numbers}"
    regions = sum(len(student._regions(_text(cell), path.name)) for cell in notebook["cells"])
    assert regions >= len(numbers), f"{path.name}: {regions} marked solutions for {len(numbers)} exercises"
    closing = [cell for cell in notebook["cells"] if "checks.verify(" in _text(cell)]
    assert closing, f"{path.name}: the closing check should use checks.verify, one line per condition"


def _imported_modules(source: str) -> set[str]:
    """Top-level modules a code cell imports (IPython magics and shell lines left out)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_a_notebook_reaches_the_local_cloud_only_through_the_helpers(path):
    # A learner meets one set of helpers: workbook.start and helpers.local's switches. The
    # local cloud's own package is an implementation detail that may change shape.
    offending = [index for index, cell in enumerate(_cells(path))
                 if cell["cell_type"] == "code" and "localcloud" in _imported_modules(_text(cell))]
    assert offending == [], f"cells importing localcloud (use helpers.local): {offending}"


def test_the_import_check_sees_imports_inside_blocks():
    assert "localcloud" in _imported_modules("if wb.is_local:\n    from localcloud import faults\n")
    assert _imported_modules("%%writefile x.py\nimport json\n") == {"json"}
