"""Lambda: really runs function code, in isolated execution environments.

moto keeps functions, versions and layers; ``runtime.py`` runs them. The Invoke API is
served by ``responses.py``; moto's in-process triggers (S3 event notifications,
EventBridge and SNS targets) reach the runtime through the hook installed here.
"""

from __future__ import annotations

import json
from typing import Any

from ..hooks import Hook, patch, register

FUNCTION_INVOKE = register(
    Hook("moto.awslambda.models", "LambdaFunction.invoke", ("self", "body", "request_headers", "response_headers"),
         "moto's own triggers (S3 notifications, EventBridge targets) invoke functions through it")
)


def _invoke(fn: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    from . import runtime

    payload = body if isinstance(body, (bytes, bytearray)) else (body or "{}")
    if not isinstance(payload, (bytes, bytearray)):
        payload = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    result = runtime.invoke(
        fn.function_arn,
        bytes(payload),
        # moto's callers (S3, EventBridge, SNS) pass no type; on AWS they all invoke asynchronously.
        invocation_type=request_headers.get("x-amz-invocation-type", "Event"),
        account_id=fn.account_id,
        region=fn.region,
    )
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    return result.payload


def install(port: int) -> None:
    from . import runtime

    runtime.configure(port)
    patch(FUNCTION_INVOKE, _invoke)
