"""What an execution did: Step Functions' GetExecutionHistory events reduced to state runs.

A history is a flat list of dozens of events, and a Parallel's or Map's branches
interleave theirs; :func:`states_run` turns it into one :class:`StateRun` per state that
ran (status, attempts, input, output, error), and :func:`status_text` says in a few words
what happened to one state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUCCEEDED, FAILED, CAUGHT, RUNNING, NOT_RUN = "succeeded", "failed", "caught", "running", "not run"

# Events a Task writes for each try of its work (the resource's own events, not the state's).
_ATTEMPT_PREFIXES = ("Task", "LambdaFunction", "Activity")
_EXECUTION_ENDS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


@dataclass(frozen=True)
class StateRun:
    """One state's run in an execution, as the history tells it.

    ``status`` is ``succeeded``, ``failed`` (the execution ended there), ``caught`` (it
    failed and a Catch sent the execution on) or ``running``. ``attempts`` counts a Task's
    tries: a Task that failed and then succeeded on a retry is ``succeeded`` with
    ``attempts == 2``. ``error``/``cause`` are those of the failure that ended the state
    (None when it succeeded). ``input``/``output`` are parsed JSON (text when not JSON).
    """

    name: str
    type: str
    status: str
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    attempts: int = 1


@dataclass
class _Entry:
    """A state's run while the events are read; becomes a StateRun."""

    entered: dict
    attempts: int = 0
    failure: dict | None = None  # details of the latest failed try
    last_try_failed: bool = False
    exited: dict | None = None

    @property
    def name(self) -> str:
        return self.entered["stateEnteredEventDetails"]["name"]

    @property
    def type(self) -> str:
        return self.entered["type"].removesuffix("StateEntered")


def _events(history: Sequence[dict] | Mapping[str, Any]) -> list[dict]:
    """The events in id order; accepts GetExecutionHistory's whole answer as well."""
    if isinstance(history, Mapping):
        history = history["events"]
    return sorted(history, key=lambda event: event["id"])


def _details(event: dict) -> dict:
    # Every event keeps its details under its type's name: TaskFailed -> taskFailedEventDetails.
    kind = event["type"]
    return event.get(kind[0].lower() + kind[1:] + "EventDetails") or {}


def _is_attempt_event(kind: str) -> bool:
    return kind.startswith(_ATTEMPT_PREFIXES) and "State" not in kind


def _entered_before(event: dict, by_id: dict[int, dict]) -> int | None:
    """The StateEntered event this event follows, walking back through previousEventId.

    Parallel branches and Map iterations interleave their events, so "the latest open
    state" can be the wrong owner; the previousEventId chain is not.
    """
    seen: set[int] = set()
    current = by_id.get(event.get("previousEventId", 0))
    while current is not None and current["id"] not in seen:
        if current["type"].endswith("StateEntered"):
            return current["id"]
        seen.add(current["id"])
        current = by_id.get(current.get("previousEventId", 0))
    return None


def _latest_open(entries: dict[int, _Entry], *, name: str | None = None, type_: str | None = None) -> _Entry | None:
    for entry in reversed(entries.values()):
        if entry.exited is None and name in (None, entry.name) and type_ in (None, entry.type):
            return entry
    return None


def _owner(event: dict, by_id: dict[int, dict], entries: dict[int, _Entry], **match: str) -> _Entry | None:
    entered = _entered_before(event, by_id)
    entry = entries.get(entered) if entered is not None else None
    if entry is not None and match.get("name") in (None, entry.name):
        return entry
    return _latest_open(entries, name=match.get("name"), type_=match.get("type_"))


def json_or_text(text: Any) -> Any:
    """A JSON value in the history, parsed; text that is not JSON comes back unchanged."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # truncated (inputDetails.truncated) or not JSON


def _record_attempt_event(entry: _Entry, event: dict) -> None:
    kind = event["type"]
    if kind.endswith(("Scheduled", "ScheduleFailed")):
        entry.attempts += 1
    if kind.endswith(("Failed", "TimedOut")):
        entry.failure, entry.last_try_failed = _details(event), True
    elif kind.endswith("Succeeded"):
        entry.last_try_failed = False


def _as_run(entry: _Entry, ended: dict | None) -> StateRun:
    details = entry.entered["stateEnteredEventDetails"]
    error = cause = output = None
    if entry.exited is not None:
        status = CAUGHT if entry.last_try_failed else SUCCEEDED
        output = json_or_text(entry.exited.get("stateExitedEventDetails", {}).get("output"))
    elif ended is not None and ended["type"] != "ExecutionSucceeded":
        status = FAILED
    elif ended is not None:
        status = SUCCEEDED
    else:
        status = RUNNING
    if status in (FAILED, CAUGHT):
        own, execution = entry.failure or {}, _details(ended) if ended else {}
        error = own.get("error") or execution.get("error") or (ended["type"] if ended else None)
        cause = own.get("cause") or execution.get("cause")
    return StateRun(name=entry.name, type=entry.type, status=status, input=json_or_text(details.get("input")),
                    output=output, error=error, cause=cause, attempts=max(1, entry.attempts))


def states_run(history: Sequence[dict] | Mapping[str, Any]) -> list[StateRun]:
    """The states an execution ran, in the order they were entered.

    ``history`` is GetExecutionHistory's ``events`` (or its whole answer) in either order;
    a long history comes in pages, so join them first (``get_paginator("get_execution_history")``).
    States inside a Parallel or Map appear too, after the state that holds them.
    """
    events = _events(history)
    by_id = {event["id"]: event for event in events}
    entries: dict[int, _Entry] = {}
    ended: dict | None = None
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entries[event["id"]] = _Entry(event)
        elif kind.endswith("StateExited"):
            entry = _owner(event, by_id, entries, name=event["stateExitedEventDetails"]["name"])
            if entry is not None:
                entry.exited = event
        elif kind in _EXECUTION_ENDS:
            ended = event
        elif _is_attempt_event(kind):
            entry = _owner(event, by_id, entries, type_="Task")
            if entry is not None:
                _record_attempt_event(entry, event)
        elif kind.endswith(("StateFailed", "StateAborted")):  # a Parallel's or Map's own failure
            entry = _latest_open(entries, type_=kind.split("State")[0])
            if entry is not None:
                entry.failure, entry.last_try_failed = _details(event) or None, True
    return [_as_run(entry, ended) for entry in entries.values()]


def status_text(runs: list[StateRun]) -> str:
    """What happened to a state in an execution: its last run, and how often it ran."""
    if not runs:
        return NOT_RUN
    last = runs[-1]
    text = last.status if last.status in (SUCCEEDED, RUNNING) else f"{last.status} {last.error or ''}".rstrip()
    if last.attempts > 1:
        text += f" after {last.attempts} attempts"
    return f"ran {len(runs)}×, last {text}" if len(runs) > 1 else text

