"""statemachine_view is what the notebooks import: it keeps every name they use, and the
modules that do the work never import it back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import execution_history, runs_table, statemachine_graph, statemachine_view

ROOT = Path(__file__).resolve().parent.parent
SPLIT = ["execution_history", "runs_table", "status_colours", "statemachine_definition", "statemachine_layout",
         "statemachine_geometry", "statemachine_svg", "statemachine_graph"]


def test_every_name_the_notebooks_use_is_there():
    used = {name for notebook in (ROOT / "notebooks").glob("*.ipynb")
            for name in re.findall(r"statemachine_view\.(\w+)", notebook.read_text())}

    assert used  # notebook 04 draws its machine with it
    assert sorted(name for name in used if not hasattr(statemachine_view, name)) == []


def test_the_names_are_the_working_modules_own():
    assert statemachine_view.states_run is execution_history.states_run
    assert statemachine_view.runs_table is runs_table.runs_table
    assert statemachine_view.graph is statemachine_graph.graph
    assert all(hasattr(statemachine_view, name) for name in statemachine_view.__all__)


def test_no_working_module_imports_the_view():
    for module in SPLIT:
        tree = ast.parse((ROOT / "helpers" / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                     for alias in node.names}
        assert not any(name and name.endswith("statemachine_view") for name in imported), module
