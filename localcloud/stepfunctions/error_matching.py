"""Which errors a Retry or Catch can match.

AWS: "A States.Runtime error isn't retriable, and will always cause the execution to fail.
A retry or catch on States.ALL won't catch States.Runtime errors." These are the errors of
the workflow itself, such as a Parameters path that matches nothing in the input. moto's
interpreter let ``States.ALL`` (and an explicit ``States.Runtime``) match them, so a
mistake in a definition could be caught quietly locally and fail the execution on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hooks import Hook

ERROR_EQUALS = Hook(
    "moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl",
    "ErrorEqualsDecl._eval_body", ("self", "env"),
    "it decides whether a Retrier's or Catcher's ErrorEquals matches the error")


def _runtime_errors_never_match(original: Callable[..., None]) -> Callable[..., None]:
    def _eval_body(self: Any, env: Any) -> None:
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType,
        )

        error_name = env.stack[-1]  # the error being matched; moto's body pops it
        if isinstance(error_name, StatesErrorName) and error_name.typ == StatesErrorNameType.StatesRuntime:
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    return _eval_body
