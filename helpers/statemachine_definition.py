"""A state machine definition read as a graph: its transitions as edges, its states in words.

The Amazon States Language spreads a state's ways out over Next, End, Choices, Default and
Catch; :func:`nodes_and_edges` gathers them into one list of :class:`Edge` from Start to
End. :func:`rule_text`, :func:`subtitle` and :func:`retry_notes` are the short texts a
reader sees on edges and boxes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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



def nodes_and_edges(definition: Mapping[str, Any]) -> tuple[list[str], list[Edge]]:
    """The states in definition order, then any named but not defined; Start's edge, then each state's."""
    states = definition["States"]
    names = list(states)
    edges = [Edge(START, definition["StartAt"], "start")]
    for name in names:
        edges.extend(_edges_of(name, states[name]))
    # A transition to a state not (yet) written is drawn as a box that says so.
    missing = [edge.target for edge in edges if edge.target not in states and edge.target != END]
    return names + [name for name in dict.fromkeys(missing)], edges


def display_name(node: str) -> str:
    """A node's name as shown: the Start and End markers by those words."""
    return {START: "Start", END: "End"}.get(node, node)
