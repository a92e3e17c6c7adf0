"""StartExecution in front of moto's interpreter backend.

moto's interpreter backend (``StepFunctionsParserBackend``) overrides ``start_execution``
and drops what the plain backend did before starting: it neither generated a name when
none was given (the ARN ended in ``:None`` and every later unnamed start collided with the
first, answering ``ExecutionAlreadyExists`` or the *old* execution) nor validated the name.
It does apply AWS's name/input idempotency for Standard workflows
(``StateMachine._handle_name_input_idempotency``): same name and same input while the first
execution runs returns it; otherwise ``ExecutionAlreadyExists``.

DescribeExecution's ``output`` is the execution's output as JSON text. moto's response
returned a string output as the bare string (``cat.jpg`` instead of ``"cat.jpg"``, which
``json.loads`` refuses, and a string holding ``{}`` read back as an object).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from ..hooks import Hook
from . import limits

START_EXECUTION = Hook(
    "moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution",
    ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
    "it starts executions without generating a name, validating it, or checking the input size")
DESCRIBE_EXECUTION = Hook(
    "moto.stepfunctions.responses", "StepFunctionResponse.describe_execution", ("self",),
    "it writes a string output without JSON-encoding it")
IDEMPOTENCY = Hook(
    "moto.stepfunctions.models", "StateMachine._handle_name_input_idempotency",
    ("self", "name", "execution_input"),
    "the interpreter backend relies on it for AWS's same-name/same-input rule")


def _start_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Any:
        # AWS validates the request's constraints before it looks the state machine up.
        limits.check_execution_input(execution_input)
        if name:
            self._validate_name(name)  # the plain backend's: invalid characters, over 80
        else:
            name = str(uuid.uuid4())  # what AWS generates for an unnamed execution
        return original(self, state_machine_arn, name, execution_input, trace_header)

    return start_execution


def _output_as_json(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_execution(self: Any) -> Any:
        from moto.stepfunctions.parser.backend.execution import Execution

        result = original(self)
        response = result.result
        if "output" in response:
            execution = self.stepfunction_backend.describe_execution(response["executionArn"])
            if isinstance(execution, Execution):  # the interpreter keeps the output as a value
                response["output"] = json.dumps(execution.output, ensure_ascii=False, separators=(",", ":"))
        return result

    return describe_execution
