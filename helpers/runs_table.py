"""The states an execution ran as a table: HTML in a notebook, aligned text in a test."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .execution_history import StateRun, json_or_text
from .status_colours import STATUS_COLOURS

CELL_CHARS = 60
STRING_CHARS = 20  # long strings inside a value (ids, base64) give way to the value's shape


def _shorten_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= STRING_CHARS else value[: STRING_CHARS - 1] + "…"
    if isinstance(value, Mapping):
        return {key: _shorten_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(item) for item in value]
    return value


def short(value: Any, limit: int = CELL_CHARS) -> str:
    """A value as at most ``limit`` characters of JSON, ending in "…" when shortened."""
    if value is None:
        return "—"
    text = json.dumps(_shorten_strings(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cause_message(cause: str | None) -> str | None:
    """Lambda's cause is its error document; its errorMessage is the part worth reading."""
    parsed = json_or_text(cause)
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        return parsed["errorMessage"]
    return cause


def _error_text(run: StateRun) -> str:
    if run.error is None:
        return ""
    message = _cause_message(run.cause)
    text = f"{run.error}: {message}" if message else run.error
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


@dataclass(frozen=True)
class RunsTable:
    """A table of state runs for a notebook: HTML for people, aligned text for tests."""

    runs: tuple[StateRun, ...]

    def rows(self) -> list[tuple[str, ...]]:
        with_errors = any(run.error for run in self.runs)
        header = ("state", "status", "attempts", "input → output") + (("error",) if with_errors else ())
        body = [
            (run.name, run.status, str(run.attempts), f"{short(run.input)} → {short(run.output)}")
            + ((_error_text(run),) if with_errors else ())
            for run in self.runs
        ]
        return [header, *body]

    def __repr__(self) -> str:
        rows = self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(width) if i == 2 else cell.ljust(width)
                           for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        header, *body = self.rows()
        head = "".join(f'<th style="text-align:left">{html.escape(cell)}</th>' for cell in header)
        lines = []
        for run, row in zip(self.runs, body, strict=True):
            fill, _ = STATUS_COLOURS[run.status]
            cells = [f"<td>{html.escape(row[0])}</td>",
                     f'<td style="background:{fill}">{html.escape(row[1])}</td>',
                     f'<td style="text-align:right">{html.escape(row[2])}</td>',
                     f"<td><code>{html.escape(row[3])}</code></td>",
                     *(f"<td>{html.escape(cell)}</td>" for cell in row[4:])]
            lines.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def runs_table(runs: Iterable[StateRun]) -> RunsTable:
    """The runs as a table: state, status, attempts, input → output (shortened), error."""
    return RunsTable(tuple(runs))
