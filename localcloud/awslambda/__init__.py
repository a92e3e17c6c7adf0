"""Lambda: really runs function code, in isolated execution environments.

moto keeps functions, versions and layers; ``runtime.py`` runs them. The Invoke API is
served by ``responses.py``; moto's in-process triggers (S3 event notifications,
EventBridge and SNS targets) reach the runtime through the hook installed here.
``limits.py`` holds uploads to Lambda's package limits; ``memory.py`` holds environments
to their MemorySize; ``workers.py`` keeps workers from outliving the server. Deleting a
function removes its idle environments and the code no other function uses.
"""

from __future__ import annotations

import json
from typing import Any

from ..hooks import Hook, patch, register, wrap

FUNCTION_INVOKE = register(
    Hook("moto.awslambda.models", "LambdaFunction.invoke", ("self", "body", "request_headers", "response_headers"),
         "moto's own triggers (S3 notifications, EventBridge targets) invoke functions through it")
)


DELETE_FUNCTION = register(
    Hook("moto.awslambda.models", "LambdaBackend.delete_function", ("self", "function_name", "qualifier"),
         "a deleted function's environments and unpacked code are removed")
)


def _function_name(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
    return name_or_arn.split(":", 1)[0]


def _removing_code(original: Any) -> Any:
    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        from . import runtime

        original(self, function_name, qualifier)
        runtime.forget_function(self.account_id, self.region_name, _function_name(function_name), qualifier)

    return delete_function


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
    from . import limits, runtime

    runtime.configure(port)
    patch(FUNCTION_INVOKE, _invoke)
    wrap(DELETE_FUNCTION, _removing_code)
    limits.install()
