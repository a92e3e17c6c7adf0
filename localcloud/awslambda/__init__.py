"""Lambda: really runs function code, in isolated execution environments.

moto keeps functions, versions and layers; ``runtime.py`` runs them (the invoke path), in
environments (``environment.py``: one process each, forked by ``forkserver.py`` from
``template.py``, running ``bootstrap.py``) kept warm by ``pool.py``. The Invoke API is
served by ``responses.py``; moto's in-process triggers (S3 event notifications,
EventBridge and SNS targets) reach the runtime through a hook listed here.
``limits.py`` holds uploads to Lambda's package limits; ``memory.py`` holds environments
to their MemorySize; ``workers.py`` keeps workers from outliving the server. Deleting a
function removes its idle environments and the code no other function uses.

Importing this package imports neither moto nor the runtime: ``packages`` and ``workers``
are used without them, and the server imports moto only once it has deferred what it can
(``lazy_imports.py``). Every moto internal this package uses is declared in :data:`HOOKS`.
"""

from __future__ import annotations

import json
from typing import Any

from ..hooks import Hook, check, replace, wrap

FUNCTION_INVOKE = Hook(
    "moto.awslambda.models", "LambdaFunction.invoke", ("self", "body", "request_headers", "response_headers"),
    "moto's own triggers (S3 notifications, EventBridge targets) invoke functions through it")
DELETE_FUNCTION = Hook(
    "moto.awslambda.models", "LambdaBackend.delete_function", ("self", "function_name", "qualifier"),
    "a deleted function's environments and unpacked code are removed")
SET_FUNCTION_CODE = Hook(
    "moto.awslambda.models", "LambdaFunction._set_function_code", ("self", "updated_spec"),
    "CreateFunction and UpdateFunctionCode set the code here; Lambda's package limits are checked around it")
LAYER_VERSION_INIT = Hook(
    "moto.awslambda.models", "LayerVersion.__init__", ("self", "spec", "account_id", "region"),
    "PublishLayerVersion builds the layer here; Lambda's package limits are checked after it")
# What runtime.py reads from moto.
BACKEND = Hook("moto.awslambda.utils", "get_backend", ("account_id", "region"), "the runtime reads functions from moto")
GET_FUNCTION = Hook(
    "moto.awslambda.models", "LambdaBackend.get_function", ("self", "function_name_or_arn", "qualifier"),
    "the runtime reads the function's configuration and code from moto")
GET_LAYER = Hook(
    "moto.awslambda.models", "LambdaBackend.layers_versions_by_arn", ("self", "layer_version_arn"),
    "layers are unpacked beside the package")
FUNCTION_FIELDS = Hook(
    "moto.awslambda.models", "LambdaFunction.get_configuration", ("self", "on_create"),
    "the runtime reads code_bytes, handler, memory_size, timeout, environment_vars, layers, version")
# What logs.py writes into moto's CloudWatch Logs.
CREATE_GROUP = Hook(
    "moto.logs.models", "LogsBackend.create_log_group", ("self", "log_group_name", "tags", "kwargs"),
    "Lambda creates /aws/lambda/NAME on first output")
ENSURE_STREAM = Hook(
    "moto.logs.models", "LogsBackend.ensure_log_stream", ("self", "log_group_name", "log_stream_name"),
    "each execution environment writes its own stream")
PUT_EVENTS = Hook(
    "moto.logs.models", "LogsBackend.put_log_events", ("self", "log_group_name", "log_stream_name", "log_events"),
    "function output lands in CloudWatch Logs")


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


# limits.py imports moto's Lambda models: loaded when the hooks are installed, not with this package.
def _checking_function_code(original: Any) -> Any:
    from .limits import _checking_function_code

    return _checking_function_code(original)


def _checking_layer(original: Any) -> Any:
    from .limits import _checking_layer

    return _checking_layer(original)


HOOKS = [
    replace(FUNCTION_INVOKE, _invoke),
    wrap(DELETE_FUNCTION, _removing_code),
    wrap(SET_FUNCTION_CODE, _checking_function_code),
    wrap(LAYER_VERSION_INIT, _checking_layer),
    check(BACKEND),
    check(GET_FUNCTION),
    check(GET_LAYER),
    check(FUNCTION_FIELDS),
    check(CREATE_GROUP),
    check(ENSURE_STREAM),
    check(PUT_EVENTS),
]


def configure(port: int) -> None:
    """Tell the runtime the server's port (called once by the server as it starts)."""
    from . import runtime

    runtime.configure(port)
