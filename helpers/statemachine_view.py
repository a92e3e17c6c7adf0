"""Seeing a state machine and one of its executions in a notebook.

Notebook 04 builds the workflow's Amazon States Language definition step by step. A JSON
document of nested states is hard to read as a flow, and an execution history is a flat
list of dozens of events; these functions turn both into something a learner can look at:

- :func:`graph` draws the definition top to bottom as SVG (Jupyter shows it inline), and,
  given an execution's history, colours each state by what happened to it;
- :func:`states_run` reduces GetExecutionHistory's events to one :class:`StateRun` per
  state that ran: its status, attempts, input, output and error;
- :func:`runs_table` shows those runs as a table, long values shortened.

Everything is pure Python and deterministic (no ids, no timestamps, no random numbers):
the notebooks are tested by comparing their outputs, and no graphviz binary is needed.

The work is done in modules of their own, which this one gathers so a notebook needs one
import: :mod:`helpers.execution_history` (history -> runs), :mod:`helpers.runs_table`,
and :mod:`helpers.statemachine_graph` (the graph, laid out by
:mod:`helpers.statemachine_layout` and :mod:`helpers.statemachine_geometry`, drawn by
:mod:`helpers.statemachine_svg`).
"""

from __future__ import annotations

from .execution_history import CAUGHT, FAILED, NOT_RUN, RUNNING, SUCCEEDED, StateRun, states_run
from .runs_table import RunsTable, runs_table, short
from .statemachine_graph import Graph, graph

# What the notebooks (and tests) reach as statemachine_view.<name>.
__all__ = ["CAUGHT", "FAILED", "NOT_RUN", "RUNNING", "SUCCEEDED", "Graph", "RunsTable", "StateRun", "graph",
           "runs_table", "short", "states_run"]
