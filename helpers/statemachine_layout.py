"""Where a state machine's nodes sit: a row (rank) and a column each, before any sizes.

Ranks are the longest path from Start, so every forward edge points down and loops point
up; a state's first transition continues its column, so the happy path reads straight
down and error handling sits to its right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .statemachine_definition import END, START, Edge


@dataclass
class Layout:
    """Where each node sits: its row (rank) and column, and which edges point backwards."""

    order: list[str] = field(default_factory=list)  # depth-first, transitions before catches
    rank: dict[str, int] = field(default_factory=dict)
    column: dict[str, int] = field(default_factory=dict)
    back: set[int] = field(default_factory=set)  # indexes into the edge list


def _depth_first(nodes: list[str], out: dict[str, list[int]], edges: list[Edge], layout: Layout) -> list[str]:
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


def _ranks(topological: list[str], edges: list[Edge], layout: Layout) -> None:
    """Longest path from Start, so every forward edge points down."""
    incoming: dict[str, list[str]] = {}
    for index, edge in enumerate(edges):
        if edge.target != END and index not in layout.back:
            incoming.setdefault(edge.target, []).append(edge.source)
    for node in topological:
        sources = incoming.get(node, [])
        layout.rank[node] = max((layout.rank[source] + 1 for source in sources), default=0 if node == START else 1)


def _columns(out: dict[str, list[int]], edges: list[Edge], layout: Layout) -> None:
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


def _place_end(edges: list[Edge], states: Mapping[str, Any], layout: Layout) -> None:
    """One End marker below everything, under the first state that ends well (else any end)."""
    enders = [edge.source for edge in edges if edge.target == END]
    if not enders:
        return
    ends_well = [name for name in layout.order if name in enders and states.get(name, {}).get("Type") != "Fail"]
    first = (ends_well or [name for name in layout.order if name in enders])[0]
    layout.rank[END] = max(layout.rank.values()) + 1
    layout.column[END] = layout.column[first]


def lay_out(states: Mapping[str, Any], nodes: list[str], edges: list[Edge]) -> Layout:
    """Each node's rank and column, the End marker's too, and which edges are loops."""
    out: dict[str, list[int]] = {}
    for index, edge in enumerate(edges):
        out.setdefault(edge.source, []).append(index)
    layout = Layout()
    topological = _depth_first(nodes, out, edges, layout)
    _ranks(topological, edges, layout)
    _columns(out, edges, layout)
    _place_end(edges, states, layout)
    return layout

