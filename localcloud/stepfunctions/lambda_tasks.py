"""Lambda service errors in a Task whose Resource is a plain function ARN.

When Lambda itself refuses an invocation (the function does not exist, throttling, a
service fault), Step Functions names the error after Lambda's error code, ``Lambda.<Code>``
(``Lambda.ServiceException``, ``Lambda.TooManyRequestsException``, ...), with a cause such
as ``Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code:
TooManyRequestsException; Request ID: ...)``: these are the names a ``Retry`` lists. moto
does so for ``arn:aws:states:::lambda:invoke`` but named every such failure ``Exception``
for a plain function ARN, so no ``Retry`` or ``Catch`` on a ``Lambda.*`` name matched.
Errors raised by the function's own code are unaffected: they keep the ``errorType``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hooks import Hook

PLAIN_ARN_ERRORS = Hook(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
    "StateTaskLambda._from_error", ("self", "env", "ex"),
    "it names the failure of a Task whose Resource is a function ARN")
SERVICE_ERROR_NAMES = Hook(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda",
    "StateTaskServiceLambda._error_cause_from_client_error", ("client_error",),
    "it gives the Lambda.<Code> name and cause that lambda:invoke tasks report")


def _named_after_lambda_error_code(original: Callable[..., Any]) -> Callable[..., Any]:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from botocore.exceptions import ClientError
        from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
            StateTaskServiceLambda,
        )
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    return _from_error
