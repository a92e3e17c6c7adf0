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
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .execution_history import (
    CAUGHT,
    FAILED,
    NOT_RUN,
    RUNNING,
    SUCCEEDED,
    StateRun,
    states_run,
    status_text,
)
from .runs_table import RunsTable, runs_table, short
from .status_colours import NEUTRAL, STATUS_COLOURS

# What the notebooks (and tests) reach as statemachine_view.<name>.
__all__ = ["CAUGHT", "FAILED", "NOT_RUN", "RUNNING", "SUCCEEDED", "Graph", "RunsTable", "StateRun", "graph",
           "runs_table", "short", "states_run"]

# --- the definition as a graph: states and edges ----------------------------------------------

START, END = "\x00start", "\x00end"  # cannot clash with a state name: names have no control characters


@dataclass(frozen=True)
class Edge:
    """A transition: ``kind`` is start, next, choice, default, catch or end."""

    source: str
    target: str
    kind: str
    label: str = ""


# Longest first: NumericLessThanEquals also ends with "Equals".
_COMPARISONS = {"LessThanEquals": "<=", "GreaterThanEquals": ">=", "LessThan": "<", "GreaterThan": ">",
                "Equals": "==", "Matches": "matches"}
_TYPE_TESTS = ("IsPresent", "IsNull", "IsString", "IsNumeric", "IsBoolean", "IsTimestamp")


def rule_text(rule: Mapping[str, Any]) -> str:
    """A Choice rule as a short condition (``$.count > 2``, JSONata without its {% %})."""
    if "Condition" in rule:
        return str(rule["Condition"]).strip().removeprefix("{%").removesuffix("%}").strip()
    for joiner in ("And", "Or"):
        if joiner in rule:
            return "(" + f" {joiner.lower()} ".join(rule_text(part) for part in rule[joiner]) + ")"
    if "Not" in rule:
        return "not " + rule_text(rule["Not"])
    variable = rule.get("Variable", "?")
    for test in _TYPE_TESTS:
        if test in rule:
            return f"{variable} is {'' if rule[test] else 'not '}{test[2:].lower()}"
    for key, value in rule.items():
        for suffix, operator in _COMPARISONS.items():
            if key.endswith(suffix) or key.endswith(suffix + "Path"):
                shown = value if key.endswith("Path") else json.dumps(value, ensure_ascii=False)
                return f"{variable} {operator} {shown}"
    return "(rule)"


def _edges_of(name: str, state: Mapping[str, Any]) -> list[Edge]:
    """A state's outgoing edges: its transitions first, then its Catch (layout follows this order)."""
    edges: list[Edge] = []
    for rule in state.get("Choices", []):
        edges.append(Edge(name, rule.get("Next", "?"), "choice", rule_text(rule)))
    if "Default" in state:
        edges.append(Edge(name, state["Default"], "default", "Default"))
    if "Next" in state:
        edges.append(Edge(name, state["Next"], "next"))
    if state.get("End") or state.get("Type") in ("Succeed", "Fail"):
        edges.append(Edge(name, END, "end"))
    for catcher in state.get("Catch", []):
        edges.append(Edge(name, catcher.get("Next", "?"), "catch", ", ".join(catcher.get("ErrorEquals", []))))
    return edges


def _function_name(arguments: Mapping[str, Any]) -> str | None:
    name = arguments.get("FunctionName", arguments.get("FunctionName.$"))
    if not isinstance(name, str):
        return None
    return name.split(":function:", 1)[1].split(":")[0] if ":function:" in name else name


def subtitle(state: Mapping[str, Any]) -> str:
    """What a state does, in a few words: its type and, for a Task, what it calls."""
    kind = state.get("Type", "?")
    if kind == "Task":
        resource = str(state.get("Resource", ""))
        arguments = state.get("Parameters") or state.get("Arguments") or {}
        if resource.startswith("arn:aws:states:::lambda:invoke") and isinstance(arguments, Mapping):
            function = _function_name(arguments)
            return f"Task · Lambda {function}" if function else "Task · Lambda"
        if ":function:" in resource:
            return "Task · Lambda " + resource.split(":function:", 1)[1].split(":")[0]
        if resource.startswith("arn:aws:states:::"):
            return "Task · " + resource.removeprefix("arn:aws:states:::")
        return "Task · " + resource.rsplit(":", 1)[-1] if resource else "Task"
    if kind == "Parallel":
        branches = len(state.get("Branches", []))
        return f"Parallel · {branches} branch{'es' if branches != 1 else ''}"
    if kind == "Wait":
        for key in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"):
            if key in state:
                return f"Wait · {state[key]}{' s' if key == 'Seconds' else ''}"
    if kind == "Fail" and isinstance(state.get("Error"), str):
        return "Fail · " + state["Error"]
    return kind


def retry_notes(state: Mapping[str, Any], *, full: bool = False) -> list[str]:
    """One line per Retry rule: how many retries, on which errors (the first, unless ``full``)."""
    notes = []
    for retrier in state.get("Retry", []):
        errors = list(retrier.get("ErrorEquals", []))
        times = retrier.get("MaxAttempts", 3)  # the States Language's default
        if full or len(errors) <= 1:
            shown = ", ".join(errors)
        else:
            shown = f"{errors[0]} and {len(errors) - 1} more"
        notes.append(f"retry ×{times}: {shown}")
    return notes


# --- layout: ranks (rows) and columns --------------------------------------------------------


@dataclass
class _Layout:
    """Where each node sits: its row (rank) and column, and which edges point backwards."""

    order: list[str] = field(default_factory=list)  # depth-first, transitions before catches
    rank: dict[str, int] = field(default_factory=dict)
    column: dict[str, int] = field(default_factory=dict)
    back: set[int] = field(default_factory=set)  # indexes into the edge list


def _depth_first(nodes: list[str], out: dict[str, list[int]], edges: list[Edge], layout: _Layout) -> list[str]:
    """Fills layout.order and layout.back; returns the nodes in reverse post-order (topological)."""
    state: dict[str, str] = {}
    post: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        layout.order.append(node)
        for index in out.get(node, []):
            target = edges[index].target
            if target == END:
                continue
            if target not in state:
                visit(target)
            elif state[target] == "open":
                layout.back.add(index)  # a loop: drawn going up, ignored for ranks
        state[node] = "done"
        post.append(node)

    for node in [START, *nodes]:
        if node not in state:
            visit(node)
    return post[::-1]


def _ranks(topological: list[str], edges: list[Edge], layout: _Layout) -> None:
    """Longest path from Start, so every forward edge points down."""
    incoming: dict[str, list[str]] = {}
    for index, edge in enumerate(edges):
        if edge.target != END and index not in layout.back:
            incoming.setdefault(edge.target, []).append(edge.source)
    for node in topological:
        sources = incoming.get(node, [])
        layout.rank[node] = max((layout.rank[source] + 1 for source in sources), default=0 if node == START else 1)


def _columns(out: dict[str, list[int]], edges: list[Edge], layout: _Layout) -> None:
    """A state's first transition continues its column; branches and Catch targets open new ones.

    So the happy path reads straight down and error handling sits to its right.
    """
    taken: set[tuple[int, int]] = set()
    next_column = 0

    def place(node: str, column: int) -> None:
        layout.column[node] = column
        taken.add((layout.rank[node], column))

    for node in layout.order:
        if node not in layout.column:
            place(node, next_column)
            next_column += 1
        continued = False
        for index in out.get(node, []):
            edge = edges[index]
            if edge.target == END or edge.target in layout.column:
                continue
            slot = (layout.rank[edge.target], layout.column[node])
            if edge.kind != "catch" and not continued and slot not in taken:
                place(edge.target, layout.column[node])
                continued = True
            else:
                place(edge.target, next_column)
                next_column += 1
    # Start is drawn above the first state, not in a column of its own.
    start_target = next(edges[i].target for i in out[START])
    layout.column[START] = layout.column[start_target]


def _place_end(edges: list[Edge], states: Mapping[str, Any], layout: _Layout) -> None:
    """One End marker below everything, under the first state that ends well (else any end)."""
    enders = [edge.source for edge in edges if edge.target == END]
    if not enders:
        return
    ends_well = [name for name in layout.order if name in enders and states.get(name, {}).get("Type") != "Fail"]
    first = (ends_well or [name for name in layout.order if name in enders])[0]
    layout.rank[END] = max(layout.rank.values()) + 1
    layout.column[END] = layout.column[first]


def _layout(states: Mapping[str, Any], nodes: list[str], edges: list[Edge]) -> _Layout:
    out: dict[str, list[int]] = {}
    for index, edge in enumerate(edges):
        out.setdefault(edge.source, []).append(index)
    layout = _Layout()
    topological = _depth_first(nodes, out, edges, layout)
    _ranks(topological, edges, layout)
    _columns(out, edges, layout)
    _place_end(edges, states, layout)
    return layout


# --- geometry: text sizes, boxes, edge routes -------------------------------------------------

FONT = "Helvetica, Arial, 'DejaVu Sans', sans-serif"
NAME_SIZE, SUB_SIZE, NOTE_SIZE, LABEL_SIZE = 13, 11, 10, 10
MARGIN, ROW_GAP, COLUMN_GAP, CHANNEL_STEP = 20, 46, 40, 10
MIN_BOX_WIDTH, PAD_X, MARKER_WIDTH, MARKER_HEIGHT = 150, 14, 60, 26


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An estimate of rendered width; generous, since the reader's font is unknown."""
    units = 0.0
    for char in text:
        if char in "ilj.,:;'|!()[]{} ":
            units += 0.32
        elif char in "mwMW@":
            units += 0.88
        elif char.isupper() or char in "×…→":
            units += 0.70
        else:
            units += 0.58
    return units * size * (1.08 if bold else 1.0)


@dataclass(frozen=True)
class _Line:
    text: str
    size: int
    colour: str = "#333333"
    bold: bool = False
    italic: bool = False

    @property
    def height(self) -> float:
        return self.size + 5


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class _Route:
    points: list[tuple[float, float]]
    label_at: tuple[float, float] | None  # where the label's text starts (baseline), if any


def _gaps(edges: list[Edge], side: list[bool], layout: _Layout, columns: int) -> tuple[list[float], dict]:
    """The space right of each column, and each side lane's distance from the column's right edge.

    Side-routed edges leave a box to the right, with their label above, then run along a
    vertical lane. Each distinct target of the edges leaving a column has its own lane, so
    edges to one target merge into one line and edges to different targets never overlap.
    """
    label_room = [0.0] * columns
    lanes: dict[tuple[int, str], float] = {}
    count = [0] * columns
    for edge, routed in zip(edges, side):
        if routed:
            column = layout.column[edge.source]
            label_room[column] = max(label_room[column], text_width(edge.label, LABEL_SIZE) + 12)
    for edge, routed in zip(edges, side):
        column = layout.column[edge.source]
        if routed and (column, edge.target) not in lanes:
            lanes[(column, edge.target)] = label_room[column] + 16 + count[column] * CHANNEL_STEP
            count[column] += 1
    gaps = [COLUMN_GAP + (label_room[c] + 16 + count[c] * CHANNEL_STEP if count[c] else 0) for c in range(columns)]
    return gaps, lanes


def _column_clear(layout: _Layout, column: int, low: int, high: int) -> bool:
    return not any(layout.column[node] == column and low < rank < high for node, rank in layout.rank.items())


def _is_side_routed(index: int, edge: Edge, layout: _Layout) -> bool:
    """Catches, loops and long jumps go round the side; the rest drop straight or elbow down."""
    if edge.kind == "catch" or index in layout.back:
        return True
    source, target = edge.source, edge.target
    span = layout.rank[target] - layout.rank[source]
    if span == 1:
        return False
    same_column = layout.column[source] == layout.column[target]
    return not (span > 1 and same_column and _column_clear(layout, layout.column[source],
                                                           layout.rank[source], layout.rank[target]))


# --- the picture ------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{round(value, 1):g}"


def _xml_text(text: str) -> str:
    # XML 1.0 refuses most control characters even escaped; a name is never worth a broken image.
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
    return html.escape(text, quote=True)


def _arrowhead(points: list[tuple[float, float]], colour: str) -> str:
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = (x1 > x0) - (x1 < x0), (y1 > y0) - (y1 < y0)  # segments are axis-aligned
    size, half = 7, 4
    base_x, base_y = x1 - dx * size, y1 - dy * size
    corners = [(x1, y1), (base_x - dy * half, base_y + dx * half), (base_x + dy * half, base_y - dx * half)]
    return f'<polygon points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in corners)}" fill="{colour}"/>'


def _label(x: float, y: float, text: str, colour: str) -> str:
    # A white halo keeps a label readable where it crosses a line.
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{LABEL_SIZE}" fill="{colour}" '
            f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{_xml_text(text)}</text>')


def _display(node: str) -> str:
    return {START: "Start", END: "End"}.get(node, node)


def _shown_label(edge: Edge) -> str:
    return edge.label if len(edge.label) <= 40 else edge.label[:39] + "…"


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

    def _nodes_and_edges(self) -> tuple[list[str], list[Edge]]:
        names = list(self.states)
        edges = [Edge(START, self.definition["StartAt"], "start")]
        for name in names:
            edges.extend(_edges_of(name, self.states[name]))
        # A transition to a state not (yet) written is drawn as a box that says so.
        missing = [edge.target for edge in edges if edge.target not in self.states and edge.target != END]
        return names + [name for name in dict.fromkeys(missing)], edges

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
        for before, after in zip(runs, runs[1:]):
            steps.add((before.name, after.name))
        if runs and (runs[-1].status == SUCCEEDED or self.states[runs[-1].name].get("Type") == "Fail"):
            steps.add((runs[-1].name, END))
        caught = {run.name for run in runs if run.status == CAUGHT}
        return {index for index, edge in enumerate(edges)
                if (edge.source, edge.target) in steps and (edge.kind == "catch") == (edge.source in caught)}

    def _lines(self, name: str) -> list[_Line]:
        state = self.states.get(name)
        if state is None:
            return [_Line(name, NAME_SIZE, bold=True), _Line("not defined", SUB_SIZE, "#c62828", italic=True)]
        lines = [_Line(name, NAME_SIZE, bold=True), _Line(subtitle(state), SUB_SIZE, "#666666")]
        lines += [_Line(note, NOTE_SIZE, "#8a5300", italic=True) for note in retry_notes(state)]
        if self.runs is not None:
            lines.append(_Line(status_text(self._runs_of(name)), SUB_SIZE, STATUS_COLOURS[self._status(name)][1],
                               bold=True))
        return lines

    # -- text --

    def __repr__(self) -> str:
        nodes, edges = self._nodes_and_edges()
        layout = _layout(self.states, nodes, edges)
        lines = [f"Start → {self.definition['StartAt']}"]
        for name in sorted(nodes, key=lambda node: (layout.rank[node], layout.column[node])):
            state = self.states.get(name)
            what = subtitle(state) if state is not None else "not defined"
            status = f" — {status_text(self._runs_of(name))}" if self.runs is not None else ""
            lines.append(f"{name} ({what}){status}")
            for edge in (edge for edge in edges if edge.source == name):
                target = _display(edge.target)
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
        nodes, edges = self._nodes_and_edges()
        layout = _layout(self.states, nodes, edges)
        content = {name: self._lines(name) for name in nodes}
        boxes, routes, size = self._geometry(nodes, edges, layout, content)
        taken = self._taken(edges)
        width, height = size
        if self.runs is not None:
            height += 30
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
                 f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{_xml_text(FONT)}">',
                 f"<title>{_xml_text(self._title())}</title>",
                 f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>']
        # The path taken last, on top: edges share lanes and end points with ones not taken.
        for index in sorted(range(len(edges)), key=lambda index: index in taken):
            parts.append(self._edge_svg(edges[index], routes[index], index in taken))
        parts += [self._marker_svg("Start", boxes[START])]
        if END in boxes:
            parts.append(self._marker_svg("End", boxes[END]))
        parts += [self._node_svg(name, boxes[name], content[name]) for name in nodes]
        parts += [self._edge_label_svg(edge, route) for edge, route in zip(edges, routes) if route.label_at]
        if self.runs is not None:
            parts.append(self._legend_svg(height - 24, any(run.status == RUNNING for run in self.runs)))
        parts.append("</svg>")
        return "\n".join(parts)

    def _title(self) -> str:
        return f"State machine starting at {self.definition['StartAt']}: {len(self.states)} states"

    def _geometry(self, nodes: list[str], edges: list[Edge], layout: _Layout,
                  content: dict[str, list[_Line]]) -> tuple[dict[str, _Box], list[_Route], tuple[float, float]]:
        columns = max(layout.column.values()) + 1
        rows = max(layout.rank.values()) + 1
        widths = [float(MARKER_WIDTH)] * columns
        heights = [float(MARKER_HEIGHT)] * rows
        for name in nodes:
            lines = content[name]
            w = max(MIN_BOX_WIDTH, max(text_width(l.text, l.size, l.bold) for l in lines) + 2 * PAD_X)
            h = sum(line.height for line in lines) + 14
            widths[layout.column[name]] = max(widths[layout.column[name]], w)
            heights[layout.rank[name]] = max(heights[layout.rank[name]], h)
        side = [_is_side_routed(i, edge, layout) for i, edge in enumerate(edges)]
        gaps, lanes = _gaps(edges, side, layout, columns)
        xs = [MARGIN + sum(widths[c] + gaps[c] for c in range(column)) for column in range(columns)]
        ys = [MARGIN + sum(heights[r] + ROW_GAP for r in range(row)) for row in range(rows)]
        boxes = {}
        for name in [START, *nodes, *([END] if END in layout.rank else [])]:
            column, row = layout.column[name], layout.rank[name]
            w, h = (widths[column], heights[row]) if name not in (START, END) else (MARKER_WIDTH, MARKER_HEIGHT)
            if name not in (START, END):
                h = sum(line.height for line in content[name]) + 14
            boxes[name] = _Box(xs[column] + (widths[column] - w) / 2, ys[row] + (heights[row] - h) / 2, w, h)
        lane_x = {(column, target): xs[column] + widths[column] + offset
                  for (column, target), offset in lanes.items()}
        routes = self._routes(edges, side, boxes, lane_x, layout, ys, heights)
        label_ends = [route.label_at[0] + text_width(_shown_label(edge), LABEL_SIZE)
                      for edge, route in zip(edges, routes) if route.label_at]
        width = max([xs[-1] + widths[-1] + gaps[-1] - COLUMN_GAP, *label_ends]) + MARGIN
        height = ys[-1] + heights[-1] + MARGIN
        return boxes, routes, (width, height)

    @staticmethod
    def _routes(edges: list[Edge], side: list[bool], boxes: dict[str, _Box], lane_x: dict,
                layout: _Layout, ys: list[float], heights: list[float]) -> list[_Route]:
        exits: dict[str, list[int]] = {}
        for index, edge in enumerate(edges):
            if side[index]:
                exits.setdefault(edge.source, []).append(index)
        routes = []
        for index, edge in enumerate(edges):
            source, target = boxes[edge.source], boxes[edge.target]
            labelled = bool(edge.label)
            if side[index]:
                mine = exits[edge.source]
                y = source.y + source.h * (mine.index(index) + 1) / (len(mine) + 1)
                x = lane_x[(layout.column[edge.source], edge.target)]
                entry = target.x if x < target.x else target.right
                points = [(source.right, y), (x, y), (x, target.cy), (entry, target.cy)]
                routes.append(_Route(points, (source.right + 6, y - 4) if labelled else None))
            elif layout.column[edge.source] == layout.column[edge.target]:
                points = [(source.cx, source.bottom), (target.cx, target.y)]
                routes.append(_Route(points, (target.cx + 6, target.y - 6) if labelled else None))
            else:
                row = layout.rank[edge.source]
                middle = ys[row] + heights[row] + ROW_GAP / 2
                points = [(source.cx, source.bottom), (source.cx, middle), (target.cx, middle), (target.cx, target.y)]
                routes.append(_Route(points, (target.cx + 6, target.y - 6) if labelled else None))
        return routes

    def _edge_svg(self, edge: Edge, route: _Route, taken: bool) -> str:
        if self.runs is None:
            colour, width = "#555555", 1.4
        else:
            colour, width = ("#333333", 2.0) if taken else ("#bbbbbb", 1.2)
        dash = ' stroke-dasharray="5 4"' if edge.kind == "catch" else ""
        path = "M " + " L ".join(f"{_n(x)} {_n(y)}" for x, y in route.points)
        # Under a taken dashed edge, white hides the grey one it shares a lane with.
        under = f'<path d="{path}" fill="none" stroke="#ffffff" stroke-width="4"/>' if taken and dash else ""
        ends = " ".join(f'data-{end}="{_xml_text(_display(name))}"' for end, name in
                        (("from", edge.source), ("to", edge.target)))
        return (f'<g class="edge {edge.kind}" {ends}>{under}'
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{_n(width)}"{dash}/>'
                f"{_arrowhead(route.points, colour)}</g>")

    @staticmethod
    def _edge_label_svg(edge: Edge, route: _Route) -> str:
        x, y = route.label_at
        colour = "#b35c00" if edge.kind == "catch" else "#555555"
        return _label(x, y, _shown_label(edge), colour)

    @staticmethod
    def _marker_svg(text: str, box: _Box) -> str:
        return (f'<g class="marker"><rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
                f'height="{_n(box.h)}" rx="13" fill="#f2f2f2" stroke="#888888"/>'
                f'<text x="{_n(box.cx)}" y="{_n(box.cy + 4)}" font-size="11" fill="#444444" '
                f'text-anchor="middle">{text}</text></g>')

    def _node_svg(self, name: str, box: _Box, lines: list[_Line]) -> str:
        status = self._status(name)
        fill, stroke = STATUS_COLOURS[status] if status else NEUTRAL
        state = self.states.get(name, {})
        dash = ' stroke-dasharray="4 3"' if name not in self.states else ""
        status_attr = f' data-status="{status}"' if status else ""
        parts = [f'<g class="state" data-state="{_xml_text(name)}"{status_attr}>',
                 f"<title>{_xml_text(self._tooltip(name))}</title>",
                 f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" rx="10" '
                 f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>']
        if state.get("Type") in ("Parallel", "Map"):  # a box of boxes: inner states are not drawn
            parts.append(f'<rect x="{_n(box.x + 3)}" y="{_n(box.y + 3)}" width="{_n(box.w - 6)}" '
                         f'height="{_n(box.h - 6)}" rx="8" fill="none" stroke="{stroke}" stroke-width="0.8"/>')
        y = box.y + 7
        for line in lines:
            y += line.height
            style = (' font-weight="bold"' if line.bold else "") + (' font-style="italic"' if line.italic else "")
            parts.append(f'<text x="{_n(box.cx)}" y="{_n(y - 4)}" font-size="{line.size}" fill="{line.colour}" '
                         f'text-anchor="middle"{style}>{_xml_text(line.text)}</text>')
        parts.append("</g>")
        return "".join(parts)

    def _tooltip(self, name: str) -> str:
        state = self.states.get(name)
        if state is None:
            return f"{name}: a transition names it, but the definition has no such state"
        return "\n".join([f"{name} ({subtitle(state)})", *retry_notes(state, full=True)])

    @staticmethod
    def _legend_svg(y: float, running: bool) -> str:
        parts, x = ['<g class="legend">'], MARGIN
        for status in (SUCCEEDED, CAUGHT, FAILED, NOT_RUN, *([RUNNING] if running else [])):
            fill, stroke = STATUS_COLOURS[status]
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="14" height="14" rx="3" fill="{fill}" '
                         f'stroke="{stroke}"/>')
            parts.append(f'<text x="{_n(x + 20)}" y="{_n(y + 11)}" font-size="11" fill="#444444">{status}</text>')
            x += 20 + text_width(status, 11) + 18
        parts.append("</g>")
        return "".join(parts)


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
