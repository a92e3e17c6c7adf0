"""Execution history details written as AWS writes them.

``stateExitedEventDetails.assignedVariables`` maps each variable a state assigned to its
value as JSON text. moto wrote a string value as ``"<value>"`` without escaping, so a value
holding a quote, backslash or newline was not JSON (and ``json.loads`` of it failed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..hooks import Hook

ASSIGNED_VARIABLES = Hook(
    "moto.stepfunctions.parser.asl.eval.variable_store", "VariableStore.get_assigned_variables", ("self",),
    "it renders the assignedVariables of a state's exit event")


def _as_json(original: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    def get_assigned_variables(self: Any) -> dict[str, str]:
        return {
            name: json.dumps(self.get(name), ensure_ascii=False, separators=(",", ":"), default=str)
            for name in original(self)
        }

    return get_assigned_variables
