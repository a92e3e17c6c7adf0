"""A state machine definition as a graph, optionally with what one execution did in it.

:func:`graph` gives a :class:`Graph`, which Jupyter shows as SVG drawn top to bottom, and
whose ``repr`` is the same graph as text. Given an execution's history, each state is
coloured by what happened to it and the path the execution took stands out. Everything is
deterministic and pure Python: no graphviz binary is needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .execution_history import CAUGHT, NOT_RUN, RUNNING, SUCCEEDED, StateRun, states_run, status_text
from .statemachine_definition import END, START, Edge, display_name, nodes_and_edges, retry_notes, subtitle
from .statemachine_geometry import NAME_SIZE, NOTE_SIZE, SUB_SIZE, Line, geometry
from .statemachine_layout import lay_out
from .statemachine_svg import document, edge_label_svg, edge_svg, legend_svg, marker_svg, node_svg
from .status_colours import STATUS_COLOURS


@dataclass(frozen=True)
class Graph:
    """A state machine definition, optionally with what one execution did in it.

    Jupyter shows it as SVG (``_repr_svg_``); its ``repr`` is the same graph as text, which
    is what a notebook test compares.
    """

    definition: Mapping[str, Any]
    runs: tuple[StateRun, ...] | None = None

    # -- model --

    @property
    def states(self) -> Mapping[str, Any]:
        return self.definition["States"]

    def _runs_of(self, name: str) -> list[StateRun]:
        return [run for run in self.runs or () if run.name == name]

    def _status(self, name: str) -> str | None:
        if self.runs is None or name in (START, END):
            return None
        runs = self._runs_of(name)
        return runs[-1].status if runs else NOT_RUN

    def _taken(self, edges: list[Edge]) -> set[int]:
        """The edges the execution went along, from consecutive runs of this graph's states."""
        runs = [run for run in self.runs or () if run.name in self.states]
        steps = {(START, runs[0].name)} if runs else set()
        for before, after in pairwise(runs):
            steps.add((before.name, after.name))
        if runs and (runs[-1].status == SUCCEEDED or self.states[runs[-1].name].get("Type") == "Fail"):
            steps.add((runs[-1].name, END))
        caught = {run.name for run in runs if run.status == CAUGHT}
        return {index for index, edge in enumerate(edges)
                if (edge.source, edge.target) in steps and (edge.kind == "catch") == (edge.source in caught)}

    def _lines(self, name: str) -> list[Line]:
        state = self.states.get(name)
        if state is None:
            return [Line(name, NAME_SIZE, bold=True), Line("not defined", SUB_SIZE, "#c62828", italic=True)]
        lines = [Line(name, NAME_SIZE, bold=True), Line(subtitle(state), SUB_SIZE, "#666666")]
        lines += [Line(note, NOTE_SIZE, "#8a5300", italic=True) for note in retry_notes(state)]
        if self.runs is not None:
            lines.append(Line(status_text(self._runs_of(name)), SUB_SIZE, STATUS_COLOURS[self._status(name)][1],
                              bold=True))
        return lines

    # -- text --

    def __repr__(self) -> str:
        nodes, edges = nodes_and_edges(self.definition)
        layout = lay_out(self.states, nodes, edges)
        lines = [f"Start → {self.definition['StartAt']}"]
        for name in sorted(nodes, key=lambda node: (layout.rank[node], layout.column[node])):
            state = self.states.get(name)
            what = subtitle(state) if state is not None else "not defined"
            status = f" — {status_text(self._runs_of(name))}" if self.runs is not None else ""
            lines.append(f"{name} ({what}){status}")
            for edge in (edge for edge in edges if edge.source == name):
                target = display_name(edge.target)
                if edge.kind == "catch":
                    lines.append(f"  catch {edge.label} → {target}")
                elif edge.kind == "choice":
                    lines.append(f"  → {target} if {edge.label}")
                elif edge.kind == "default":
                    lines.append(f"  → {target} (default)")
                else:
                    lines.append(f"  → {target}")
            lines += [f"  {note}" for note in retry_notes(state or {}, full=True)]
        return "\n".join(lines)

    # -- picture --

    def _repr_svg_(self) -> str:
        return self.svg()

    def svg(self) -> str:
        """The graph as a standalone SVG document (no ids, no scripts, no external references)."""
        nodes, edges = nodes_and_edges(self.definition)
        layout = lay_out(self.states, nodes, edges)
        content = {name: self._lines(name) for name in nodes}
        boxes, routes, size = geometry(nodes, edges, layout, content)
        taken = self._taken(edges)
        with_runs = self.runs is not None
        width, height = size
        if with_runs:
            height += 30
        elements = []
        # The path taken last, on top: edges share lanes and end points with ones not taken.
        for index in sorted(range(len(edges)), key=lambda index: index in taken):
            elements.append(edge_svg(edges[index], routes[index], taken=index in taken, with_runs=with_runs))
        elements.append(marker_svg("Start", boxes[START]))
        if END in boxes:
            elements.append(marker_svg("End", boxes[END]))
        elements += [node_svg(name, boxes[name], content[name], status=self._status(name),
                              tooltip=self._tooltip(name), defined=name in self.states,
                              holds_states=self.states.get(name, {}).get("Type") in ("Parallel", "Map"))
                     for name in nodes]
        elements += [edge_label_svg(edge, route) for edge, route in zip(edges, routes, strict=True) if route.label_at]
        if with_runs:
            elements.append(legend_svg(height - 24, running=any(run.status == RUNNING for run in self.runs)))
        return document(width, height, self._title(), elements)

    def _title(self) -> str:
        return f"State machine starting at {self.definition['StartAt']}: {len(self.states)} states"

    def _tooltip(self, name: str) -> str:
        state = self.states.get(name)
        if state is None:
            return f"{name}: a transition names it, but the definition has no such state"
        return "\n".join([f"{name} ({subtitle(state)})", *retry_notes(state, full=True)])


def graph(definition: Mapping[str, Any] | str, history: Sequence[dict] | Mapping[str, Any] | None = None) -> Graph:
    """The state machine as a graph; with an execution's history, coloured by what ran.

    ``definition`` is the ASL document (a dict, or its JSON text as DescribeStateMachine
    returns it). ``history`` is GetExecutionHistory's ``events`` (or its whole answer).
    """
    if isinstance(definition, str):
        definition = json.loads(definition)
    if not isinstance(definition, Mapping) or "StartAt" not in definition or "States" not in definition:
        raise ValueError("a state machine definition needs StartAt and States")
    runs = tuple(states_run(history)) if history is not None else None
    return Graph(definition, runs)
