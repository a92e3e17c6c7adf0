"""Runs Lambda functions for real: one Python process per execution environment.

An execution environment is a ``bootstrap.py`` process built from one snapshot of the
function (code, layers, handler, memory, timeout, environment variables). As on Lambda:
it imports the handler once and then serves invocations one at a time; it is reused
while warm, replaced when code or configuration changes, never shared by concurrent
invocations, killed on timeout, and reaped when idle. ``environment.py`` holds one
environment, ``pool.py`` the warm pool and the limits on how many run at once; this module
holds the invoke path, the instance's state and the entry points the server calls.

Entry point: :func:`invoke`. Used by the Lambda Invoke API (``responses.py``), by moto's
own triggers (S3 notifications, EventBridge targets; see ``__init__.py``), by the Step
Functions interpreter (through the Invoke API) and by the API Gateway data plane.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from .. import config
from . import logs, packages, workers
from .environment import Environment, FunctionSpec, close_forks, exit_description
from .pool import CONCURRENT_INITS, Concurrency, Pool, reaper

log = logging.getLogger("localcloud.lambda")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6291456 bytes, request and response
SYNC_RESPONSE_LIMIT = 6291556  # the figure Lambda's error message names
ASYNC_PAYLOAD_LIMIT = 256 * 1024


class RequestTooLarge(LambdaClientError):
    code = 413

    def __init__(self, limit: int, operation: str) -> None:
        super().__init__("RequestTooLargeException",
                         f"Request must be smaller than {limit} bytes for the {operation} operation")


class TooManyRequests(LambdaClientError):
    """Lambda's throttle for a function at its reserved concurrency."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                                       "Type": "User", "message": "Rate Exceeded."})


class UnsupportedPackage(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


@dataclass
class InvokeResult:
    status_code: int
    payload: bytes
    function_error: str | None = None
    log_result: str | None = None  # base64 of the last 4 KB, when LogType=Tail
    executed_version: str = "$LATEST"
    request_id: str = ""


_pool = Pool()
_init_slots = threading.BoundedSemaphore(CONCURRENT_INITS)
_async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
_concurrency = Concurrency()
_state: dict[str, Any] = {"port": config.DEFAULT_PORT}


def configure(port: int) -> None:
    """Called once at server start: where environments send boto3, where code is unpacked.

    A previous server of this instance that crashed may have left workers and files: they go
    first (the previous server is dead, so :func:`workers.reap_orphans` takes everything).
    """
    _state["port"] = port
    _state["cache"] = config.instance_dir(port) / "lambda"
    workers.reap_orphans(config.instance_dir(port))
    workers.record_server(_state["cache"])
    threading.Thread(target=reaper, args=(_pool,), name="lambda-reaper", daemon=True).start()


def reap_orphans(instance_dir: Path | str) -> list[int]:
    """End the workers a crashed local cloud left in ``instance_dir`` and remove their files
    (for ``process.py``'s start and stop; see :func:`workers.reap_orphans`)."""
    return workers.reap_orphans(instance_dir)


def pool_summary() -> dict[str, int]:
    return _pool.summary()


def shutdown() -> None:
    """At server stop: end every environment and remove the unpacked code and scratch space."""
    _async.shutdown(wait=False, cancel_futures=True)
    _pool.close()
    close_forks()
    cache = _state.get("cache")
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)


def forget_function(account_id: str, region: str, name: str, qualifier: str | None) -> None:
    """After DeleteFunction: its idle environments go, and code no function uses any more."""
    _pool.discard_where(lambda spec: (spec.account_id, spec.region, spec.name) == (account_id, region, name)
                        and qualifier in (None, spec.version))
    collect_unused_code()


def collect_unused_code() -> list[Path]:
    """Remove unpacked packages and layer folders that no function, version or live environment uses."""
    cache = _state.get("cache")
    if cache is None:
        return []
    keep_code, keep_opt = _pool.folders_in_use()
    for fn in _all_functions():
        code = getattr(fn, "code_bytes", b"") or b""
        if code:
            keep_code.add(packages.code_key(code))
    return packages.remove_unused(cache, keep_code, keep_opt)


def _all_functions() -> list[Any]:
    """Every function and published version in every account and region moto holds."""
    from moto.awslambda.models import lambda_backends

    found = []
    for account_id in list(lambda_backends.keys()):
        for region in list(dict.keys(lambda_backends[account_id])):
            backend = dict.get(lambda_backends[account_id], region)
            storage = getattr(backend, "_lambdas", None)
            for group in list(getattr(storage, "_functions", {}).values()):
                found.append(group["latest"])
                found.extend(group["versions"])
    return found


def _lookup(function: str, qualifier: str | None, account_id: str, region: str):
    from moto.awslambda.utils import get_backend

    backend = get_backend(account_id, region)
    fn = backend.get_function(function, qualifier)
    if fn.package_type != "Zip":
        raise UnsupportedPackage("The local cloud runs only .zip packages, not container images")
    layers = []
    for layer in fn.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        layers.append((layer["Arn"], version.code_bytes))
    spec = FunctionSpec(
        account_id=account_id,
        region=fn.region,
        name=fn.function_name,
        arn=fn.function_arn,
        version=str(fn.version),
        handler=fn.handler or "",
        runtime=fn.run_time or "python3.12",
        memory_mb=int(fn.memory_size),
        timeout_s=float(fn.timeout),
        env_vars=tuple(sorted((fn.environment_vars or {}).items())),
        code_sha=fn.code_sha_256,
        layers=tuple(arn for arn, _ in layers),
        role=fn.role or "",
    )
    latest = backend.get_function(fn.function_name, None) if str(fn.version) != "$LATEST" else fn
    reserved = getattr(latest, "reserved_concurrency", None)
    return spec, fn.code_bytes, layers, (int(reserved) if reserved is not None else None)


def _error_payload(error: dict[str, Any], request_id: str) -> bytes:
    doc = {k: (v.replace("{request_id}", request_id) if isinstance(v, str) else v) for k, v in error.items()}
    return json.dumps(doc).encode()


def _run(spec: FunctionSpec, code: bytes, layers: list[tuple[str, bytes]], payload: bytes,
         invoked_arn: str, client_context: Any) -> tuple[bytes, str | None, list[str]]:
    """Run one invocation in a warm or new environment: (payload, function error, log lines)."""
    request_id = str(uuid.uuid4())
    def build() -> Environment:
        with _init_slots:
            try:
                return Environment(spec, code, layers, _state["cache"], _state["port"])
            except packages.InvalidPackage as exc:  # refused at upload; kept for code from before
                raise UnsupportedPackage(f"Could not unzip the function's code: {exc}") from exc

    env, cold = _pool.acquire(spec, build)
    lines = list(env.init_lines) if cold else []
    if env.init_error is not None:
        lines += [logs.start_line(request_id, spec.version)]
        lines += logs.end_lines(request_id, env.init_ms, spec.memory_mb, env.max_memory_mb, env.init_ms, False)
        _pool.release(env, reusable=False)
        logs.write(spec.account_id, spec.region, f"/aws/lambda/{spec.name}", env.log_stream, lines,
                   role=spec.role, session=spec.name)
        return _error_payload(env.init_error, request_id), "Unhandled", lines
    lines.append(logs.start_line(request_id, spec.version))
    outcome = env.invoke(payload, request_id, invoked_arn, client_context)
    lines += outcome.lines
    function_error: str | None = None
    if outcome.timed_out:
        lines.append(logs.timeout_line(request_id, spec.timeout_s))
        result = {"errorType": "Sandbox.Timedout",
                  "errorMessage": f"RequestId: {request_id} Error: Task timed out after {spec.timeout_s:.2f} seconds"}
        function_error = "Unhandled"
    elif outcome.response is None:
        # Over its memory the monitor SIGKILLs the worker: "signal: killed", as on Lambda.
        message = f"RequestId: {request_id} Error: {exit_description(outcome.exit_code)}"
        result = {"errorType": "Runtime.ExitError", "errorMessage": message}
        function_error = "Unhandled"
    elif outcome.response["ok"]:
        result = None
    else:
        result = outcome.response["error"]
        function_error = "Unhandled"
    lines += logs.end_lines(request_id, outcome.duration_ms, spec.memory_mb, env.max_memory_mb,
                            env.init_ms if cold else None, outcome.timed_out)
    if outcome.response is None and not outcome.timed_out:
        lines.append(f"{result['errorMessage']}\n{result['errorType']}")  # Lambda's platform line after REPORT
    _pool.release(env, reusable=outcome.response is not None and env.alive)
    logs.write(spec.account_id, spec.region, f"/aws/lambda/{spec.name}", env.log_stream, lines,
                   role=spec.role, session=spec.name)
    if result is None:
        body = outcome.response["payload"].encode()
    else:
        body = json.dumps(result).encode()
    return body, function_error, lines


def invoke(function: str, payload: bytes | None = None, *, qualifier: str | None = None,
           invocation_type: str = "RequestResponse", log_type: str = "None",
           account_id: str = config.ACCOUNT_ID, region: str = config.DEFAULT_REGION,
           client_context: Any = None) -> InvokeResult:
    """Invoke a function as the Lambda Invoke API does.

    Raises moto's LambdaClientError subclasses for what the API rejects (unknown function,
    payload over the limit); errors inside the function come back as FunctionError with
    Lambda's error document as the payload.
    """
    payload = payload if payload else b"{}"
    spec, code, layers, reserved = _lookup(function, qualifier, account_id, region)
    invoked_arn = spec.arn if not qualifier else f"{spec.arn}:{qualifier}"
    if invocation_type == "DryRun":
        return InvokeResult(204, b"", executed_version=spec.version)
    if invocation_type == "Event":
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(ASYNC_PAYLOAD_LIMIT, "Invoke")
        _async.submit(_run_event, spec, code, layers, payload, invoked_arn, client_context, reserved)
        return InvokeResult(202, b"", executed_version=spec.version)
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        raise RequestTooLarge(SYNC_PAYLOAD_LIMIT, "Invoke")
    try:
        json.loads(payload)
    except ValueError as exc:
        raise LambdaClientError("InvalidRequestContentException",
                                f"Could not parse request body into json: {exc}") from exc
    key = _concurrency_key(spec)
    if not _concurrency.try_acquire(key, reserved):
        raise TooManyRequests()
    try:
        body, function_error, lines = _run(spec, code, layers, payload, invoked_arn, client_context)
    finally:
        _concurrency.release(key)
    if len(body) > SYNC_RESPONSE_LIMIT:
        message = f"Response payload size exceeded maximum allowed payload size ({SYNC_RESPONSE_LIMIT} bytes)."
        body = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
        function_error = "Unhandled"
    log_result = base64.b64encode(logs.tail(lines).encode()).decode() if log_type == "Tail" else None
    return InvokeResult(200, body, function_error, log_result, spec.version)


def _concurrency_key(spec: FunctionSpec) -> str:
    # Reserved concurrency is the function's, shared by all its versions and aliases.
    return f"{spec.account_id}:{spec.region}:{spec.name}"


def _run_event(spec: FunctionSpec, code: bytes, layers: list[tuple[str, bytes]], payload: bytes,
               invoked_arn: str, client_context: Any, reserved: int | None = None) -> None:
    if reserved == 0:
        # Lambda keeps retrying a throttled event for up to 6 hours, then drops it.
        log.info("asynchronous invocation of %s dropped: its reserved concurrency is 0", spec.name)
        return
    key = _concurrency_key(spec)
    _concurrency.acquire_waiting(key, reserved)
    try:
        _, function_error, _ = _run(spec, code, layers, payload, invoked_arn, client_context)
        if function_error:
            log.info("asynchronous invocation of %s failed (not retried locally)", spec.name)
    except Exception:  # an Event invocation has no caller to tell; the log keeps it
        log.exception("asynchronous invocation of %s could not run", spec.name)
    finally:
        _concurrency.release(key)
