"""Drawing the state machine graph as SVG, one element at a time, from boxes and routes.

Each function returns the markup of one part of the picture: an edge, its label, a Start
or End marker, a state's box, the legend, and the document around them. The output has no
ids, scripts or external references, and numbers are rounded, so a picture is the same
text every time and a notebook test can compare it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from .execution_history import CAUGHT, FAILED, NOT_RUN, RUNNING, SUCCEEDED
from .statemachine_definition import Edge, display_name
from .statemachine_geometry import LABEL_SIZE, MARGIN, Box, Line, Route, shown_label, text_width
from .status_colours import NEUTRAL, STATUS_COLOURS

FONT = "Helvetica, Arial, 'DejaVu Sans', sans-serif"


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


def document(width: float, height: float, title: str, elements: Iterable[str]) -> str:
    """A standalone SVG document of ``elements`` on a white background."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
             f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{_xml_text(FONT)}">',
             f"<title>{_xml_text(title)}</title>",
             f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
             *elements,
             "</svg>"]
    return "\n".join(parts)


def edge_svg(edge: Edge, route: Route, *, taken: bool, with_runs: bool) -> str:
    """An edge with its arrowhead; with an execution's runs, the path taken stands out."""
    if not with_runs:
        colour, width = "#555555", 1.4
    else:
        colour, width = ("#333333", 2.0) if taken else ("#bbbbbb", 1.2)
    dash = ' stroke-dasharray="5 4"' if edge.kind == "catch" else ""
    path = "M " + " L ".join(f"{_n(x)} {_n(y)}" for x, y in route.points)
    # Under a taken dashed edge, white hides the grey one it shares a lane with.
    under = f'<path d="{path}" fill="none" stroke="#ffffff" stroke-width="4"/>' if taken and dash else ""
    ends = " ".join(f'data-{end}="{_xml_text(display_name(name))}"' for end, name in
                    (("from", edge.source), ("to", edge.target)))
    return (f'<g class="edge {edge.kind}" {ends}>{under}'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{_n(width)}"{dash}/>'
            f"{_arrowhead(route.points, colour)}</g>")


def edge_label_svg(edge: Edge, route: Route) -> str:
    """An edge's label where its route puts it (``route.label_at`` must be set)."""
    x, y = route.label_at
    colour = "#b35c00" if edge.kind == "catch" else "#555555"
    return _label(x, y, shown_label(edge), colour)


def marker_svg(text: str, box: Box) -> str:
    """The Start or End marker."""
    return (f'<g class="marker"><rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
            f'height="{_n(box.h)}" rx="13" fill="#f2f2f2" stroke="#888888"/>'
            f'<text x="{_n(box.cx)}" y="{_n(box.cy + 4)}" font-size="11" fill="#444444" '
            f'text-anchor="middle">{text}</text></g>')


def node_svg(name: str, box: Box, lines: list[Line], *, status: str | None, tooltip: str, defined: bool,
             holds_states: bool) -> str:
    """A state's box with its lines of text, coloured by ``status`` (None: no execution shown).

    A state that is named but not defined has a dashed border; a Parallel or Map
    (``holds_states``) a double one.
    """
    fill, stroke = STATUS_COLOURS[status] if status else NEUTRAL
    dash = ' stroke-dasharray="4 3"' if not defined else ""
    status_attr = f' data-status="{status}"' if status else ""
    parts = [f'<g class="state" data-state="{_xml_text(name)}"{status_attr}>',
             f"<title>{_xml_text(tooltip)}</title>",
             f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" rx="10" '
             f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>']
    if holds_states:  # a box of boxes: inner states are not drawn
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


def legend_svg(y: float, *, running: bool) -> str:
    """What each status colour means; running only when some state still is."""
    parts, x = ['<g class="legend">'], MARGIN
    for status in (SUCCEEDED, CAUGHT, FAILED, NOT_RUN, *([RUNNING] if running else [])):
        fill, stroke = STATUS_COLOURS[status]
        parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="14" height="14" rx="3" fill="{fill}" '
                     f'stroke="{stroke}"/>')
        parts.append(f'<text x="{_n(x + 20)}" y="{_n(y + 11)}" font-size="11" fill="#444444">{status}</text>')
        x += 20 + text_width(status, 11) + 18
    parts.append("</g>")
    return "".join(parts)
