"""The graph's geometry in pixels: text widths, box sizes, and the route each edge takes.

No font is measured (the reader's is unknown and no graphics library is needed), so
:func:`text_width` estimates generously; :func:`geometry` turns a :class:`Layout`'s ranks and
columns into boxes and axis-aligned routes, with a side lane per target for the edges
that cannot drop straight down.
"""

from __future__ import annotations

from dataclasses import dataclass

from .statemachine_definition import END, START, Edge
from .statemachine_layout import Layout

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
class Line:
    """One line of text in a state's box."""

    text: str
    size: int
    colour: str = "#333333"
    bold: bool = False
    italic: bool = False

    @property
    def height(self) -> float:
        return self.size + 5


@dataclass
class Box:
    """Where a node is drawn: its top-left corner, width and height."""

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
class Route:
    """An edge's path: axis-aligned segments through ``points``, the last one into the target."""

    points: list[tuple[float, float]]
    label_at: tuple[float, float] | None  # where the label's text starts (baseline), if any


def _gaps(edges: list[Edge], side: list[bool], layout: Layout, columns: int) -> tuple[list[float], dict]:
    """The space right of each column, and each side lane's distance from the column's right edge.

    Side-routed edges leave a box to the right, with their label above, then run along a
    vertical lane. Each distinct target of the edges leaving a column has its own lane, so
    edges to one target merge into one line and edges to different targets never overlap.
    """
    label_room = [0.0] * columns
    lanes: dict[tuple[int, str], float] = {}
    count = [0] * columns
    for edge, routed in zip(edges, side, strict=True):
        if routed:
            column = layout.column[edge.source]
            label_room[column] = max(label_room[column], text_width(edge.label, LABEL_SIZE) + 12)
    for edge, routed in zip(edges, side, strict=True):
        column = layout.column[edge.source]
        if routed and (column, edge.target) not in lanes:
            lanes[(column, edge.target)] = label_room[column] + 16 + count[column] * CHANNEL_STEP
            count[column] += 1
    gaps = [COLUMN_GAP + (label_room[c] + 16 + count[c] * CHANNEL_STEP if count[c] else 0) for c in range(columns)]
    return gaps, lanes


def _column_clear(layout: Layout, column: int, low: int, high: int) -> bool:
    return not any(layout.column[node] == column and low < rank < high for node, rank in layout.rank.items())


def _is_side_routed(index: int, edge: Edge, layout: Layout) -> bool:
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


def shown_label(edge: Edge) -> str:
    """An edge's label as drawn: a long condition is cut short."""
    return edge.label if len(edge.label) <= 40 else edge.label[:39] + "…"


def geometry(nodes: list[str], edges: list[Edge], layout: Layout,
             content: dict[str, list[Line]]) -> tuple[dict[str, Box], list[Route], tuple[float, float]]:
    """Each node's box, each edge's route (in edge order) and the picture's width and height, in pixels.

    Every column is as wide as its widest box and every row as high as its highest, so boxes
    line up; ``content`` is the lines of text each state's box holds.
    """
    columns = max(layout.column.values()) + 1
    rows = max(layout.rank.values()) + 1
    widths = [float(MARKER_WIDTH)] * columns
    heights = [float(MARKER_HEIGHT)] * rows
    for name in nodes:
        lines = content[name]
        w = max(MIN_BOX_WIDTH, max(text_width(line.text, line.size, line.bold) for line in lines) + 2 * PAD_X)
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
        boxes[name] = Box(xs[column] + (widths[column] - w) / 2, ys[row] + (heights[row] - h) / 2, w, h)
    lane_x = {(column, target): xs[column] + widths[column] + offset
              for (column, target), offset in lanes.items()}
    routes = _routes(edges, side, boxes, lane_x, layout, ys, heights)
    label_ends = [route.label_at[0] + text_width(shown_label(edge), LABEL_SIZE)
                  for edge, route in zip(edges, routes, strict=True) if route.label_at]
    width = max([xs[-1] + widths[-1] + gaps[-1] - COLUMN_GAP, *label_ends]) + MARGIN
    height = ys[-1] + heights[-1] + MARGIN
    return boxes, routes, (width, height)


def _routes(edges: list[Edge], side: list[bool], boxes: dict[str, Box], lane_x: dict,
            layout: Layout, ys: list[float], heights: list[float]) -> list[Route]:
    """Each edge's points and where its label starts.

    A side edge leaves its box's right side (spread over its height) and runs along its lane;
    an edge within a column drops straight down; one to another column elbows between the rows.
    """
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
            routes.append(Route(points, (source.right + 6, y - 4) if labelled else None))
        elif layout.column[edge.source] == layout.column[edge.target]:
            points = [(source.cx, source.bottom), (target.cx, target.y)]
            routes.append(Route(points, (target.cx + 6, target.y - 6) if labelled else None))
        else:
            row = layout.rank[edge.source]
            middle = ys[row] + heights[row] + ROW_GAP / 2
            points = [(source.cx, source.bottom), (source.cx, middle), (target.cx, middle), (target.cx, target.y)]
            routes.append(Route(points, (target.cx + 6, target.y - 6) if labelled else None))
    return routes
