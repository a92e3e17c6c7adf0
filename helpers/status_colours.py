"""The colours that say what happened to a state, shared by the runs table and the graph."""

from __future__ import annotations

from .execution_history import CAUGHT, FAILED, NOT_RUN, RUNNING, SUCCEEDED

STATUS_COLOURS: dict[str, tuple[str, str]] = {  # status -> (fill, stroke)
    SUCCEEDED: ("#dff3e2", "#2e7d32"),
    FAILED: ("#fbdcd9", "#c62828"),
    CAUGHT: ("#ffe8c7", "#e67700"),
    RUNNING: ("#dceafb", "#1e63b5"),
    NOT_RUN: ("#efefef", "#a0a0a0"),
}
NEUTRAL = ("#ffffff", "#4a6fa5")  # a state drawn without an execution to colour it
