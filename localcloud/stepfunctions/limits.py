"""The 256 KiB payload quota, measured as AWS measures it.

Step Functions limits the input and output of a task, a state and an execution to
262,144 bytes of UTF-8. moto's interpreter already fails a state or task whose output is
over the quota with ``States.DataLimitExceeded`` (events and causes as AWS records them),
but it measured the JSON with ``json.dumps`` defaults: spaces after every ``:`` and ``,``
and non-ASCII escaped as six-byte ``\\uXXXX``, so a payload AWS accepts could fail
locally; and it refused a payload of exactly 262,144 bytes. The check is imported by name
into three modules, so each is hooked.

StartExecution's ``input`` has the same quota as an API constraint, which AWS checks
before anything else and answers with a ``ValidationException``; moto did not check it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..hooks import Hook

MAX_PAYLOAD_BYTES: Final[int] = 262_144

SIZE_CHECKS = [
    Hook(module, "is_within_size_quota", ("value",),
         "moto's interpreter decides States.DataLimitExceeded with it")
    for module in (
        "moto.stepfunctions.parser.quotas",
        "moto.stepfunctions.parser.asl.component.state.state",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
    )
]

INPUT_TOO_LARGE: Final[str] = (
    "1 validation error detected: Value at 'input' failed to satisfy constraint: "
    f"Member must have size less than or equal to {MAX_PAYLOAD_BYTES} bytes in UTF-8 encoding"
)


def payload_size(value: Any) -> int:
    """Bytes of the value as compact UTF-8 JSON, the form Step Functions stores and passes on."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def is_within_size_quota(value: Any) -> bool:
    return payload_size(value) <= MAX_PAYLOAD_BYTES


def check_execution_input(execution_input: str | None) -> None:
    """Refuse a StartExecution input over the quota, as AWS's API validation does."""
    from moto.stepfunctions.exceptions import ValidationException

    if execution_input is not None and len(execution_input.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValidationException(INPUT_TOO_LARGE)
