"""Runs Lambda functions for real: one Python process per execution environment.

An execution environment is a ``bootstrap.py`` process built from one snapshot of the
function (code, layers, handler, memory, timeout, environment variables). As on Lambda:
it imports the handler once and then serves invocations one at a time; it is reused
while warm, replaced when code or configuration changes, never shared by concurrent
invocations, killed on timeout, and reaped when idle.

Entry point: :func:`invoke`. Used by the Lambda Invoke API (``responses.py``), by moto's
own triggers (S3 notifications, EventBridge targets; see ``__init__.py``), by the Step
Functions interpreter (through the Invoke API) and by the API Gateway data plane.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from .. import config
from ..auth import credentials as auth_credentials
from ..hooks import Hook, register
# The worker's framing, shared: bootstrap.py is standard library only, so importable here too.
from . import bootstrap, logs, packages

log = logging.getLogger("localcloud.lambda")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6291456 bytes, request and response
SYNC_RESPONSE_LIMIT = 6291556  # the figure Lambda's error message names
ASYNC_PAYLOAD_LIMIT = 256 * 1024
# moto lets a function be created without a real role; its environment still needs credentials.
_FALLBACK_ROLE = "arn:aws:iam::{account}:role/localcloud-function-without-role"
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand environment
IDLE_SECONDS = float(os.environ.get("LOCALCLOUD_LAMBDA_IDLE_SECONDS", 300))
MAX_ENVIRONMENTS = int(os.environ.get("LOCALCLOUD_LAMBDA_MAX_ENVIRONMENTS", 32))
# On Lambda every environment initializes on its own CPU; here they share this machine's
# cores, and twenty boto3 imports at once would each blow the 10 s init limit. Cold starts
# beyond this many wait their turn (the wait does not count against the init limit).
CONCURRENT_INITS = int(os.environ.get("LOCALCLOUD_LAMBDA_CONCURRENT_INITS", max(2, os.cpu_count() or 2)))
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")

BACKEND = register(
    Hook("moto.awslambda.utils", "get_backend", ("account_id", "region"), "the runtime reads functions from moto")
)
GET_FUNCTION = register(
    Hook("moto.awslambda.models", "LambdaBackend.get_function", ("self", "function_name_or_arn", "qualifier"),
         "the runtime reads the function's configuration and code from moto")
)
GET_LAYER = register(
    Hook("moto.awslambda.models", "LambdaBackend.layers_versions_by_arn", ("self", "layer_version_arn"),
         "layers are unpacked beside the package")
)
FUNCTION_FIELDS = register(
    Hook("moto.awslambda.models", "LambdaFunction.get_configuration", ("self", "on_create"),
         "the runtime reads code_bytes, handler, memory_size, timeout, environment_vars, layers, version")
)


class RequestTooLarge(LambdaClientError):
    code = 413

    def __init__(self, limit: int, operation: str) -> None:
        super().__init__("RequestTooLargeException", f"Request must be smaller than {limit} bytes for the {operation} operation")


class UnsupportedPackage(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


@dataclass(frozen=True)
class FunctionSpec:
    """What an execution environment is built from; a change means a new environment."""

    account_id: str
    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: float
    env_vars: tuple[tuple[str, str], ...]
    code_sha: str
    layers: tuple[str, ...]
    role: str = ""  # the execution role: its credentials are the environment's, as on Lambda

    @property
    def key(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()


@dataclass
class InvokeResult:
    status_code: int
    payload: bytes
    function_error: str | None = None
    log_result: str | None = None  # base64 of the last 4 KB, when LogType=Tail
    executed_version: str = "$LATEST"
    request_id: str = ""


@dataclass
class _Outcome:
    """What one invocation in an environment produced."""

    response: dict[str, Any] | None  # None: timed out or the process died
    duration_ms: float
    lines: list[str]
    timed_out: bool = False
    exit_code: int | None = None


def _worker_env(spec: FunctionSpec, task_root: Path, runtime_dir: Path, tmp_dir: Path, log_stream: str,
                port: int) -> dict[str, str]:
    """Only what Lambda sets, plus the endpoint that sends boto3 to the local cloud."""
    env = dict(spec.env_vars)
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            # Each environment's own scratch space, as /tmp is on Lambda (tempfile honours it).
            "TMPDIR": str(tmp_dir),
            # The only difference from AWS a handler can see: where boto3 sends requests.
            "AWS_ENDPOINT_URL": config.endpoint_url(port),
            # Never read the developer's own ~/.aws files.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    # Temporary credentials for the function's role, issued by this local cloud's STS; the
    # front door accepts nothing unsigned, so they are also what lets the handler call it.
    env.update(auth_credentials.issue_for_role(spec.role or _FALLBACK_ROLE.format(account=spec.account_id),
                                               spec.name, spec.region).as_env())
    return env


class Environment:
    """One execution environment: a bootstrap process serving one invocation at a time."""

    def __init__(self, spec: FunctionSpec, code: bytes, layers: list[tuple[str, bytes]], cache: Path, port: int):
        self.spec = spec
        self.instance_id = uuid.uuid4().hex
        self.log_stream = logs.stream_name(self.instance_id, spec.version)
        self.last_used = time.monotonic()
        self.invocations = 0
        task_root = packages.task_root(cache, code)
        opt = packages.opt_dir(cache, layers)
        runtime_dir = packages.runtime_dir(cache)
        boot_config = {
            "handler": spec.handler,
            "task_root": str(task_root),
            "sys_path": packages.sys_path(task_root, opt, runtime_dir),
            "function_name": spec.name,
            "function_version": spec.version,
            "memory_mb": spec.memory_mb,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": self.log_stream,
        }
        (cache / "envs").mkdir(parents=True, exist_ok=True)
        self._output_path = cache / "envs" / f"{self.instance_id}.log"
        self._tmp_dir = cache / "envs" / f"{self.instance_id}.tmp"
        self._tmp_dir.mkdir()
        self._output = open(self._output_path, "w+b")  # noqa: SIM115 - lives as long as the process
        self._offset = 0
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-u", str(BOOTSTRAP), str(request_r), str(response_w), json.dumps(boot_config)],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            pass_fds=(request_r, response_w),
            env=_worker_env(spec, task_root, runtime_dir, self._tmp_dir, self.log_stream, port),
            cwd=task_root,
        )
        os.close(request_r)
        os.close(response_w)
        init = self._receive(started + INIT_TIMEOUT_S)
        self.init_ms = (time.perf_counter() - started) * 1000
        self.init_lines = self._new_output()
        self.init_error: dict[str, Any] | None = None
        if init is None:
            self.init_error = {
                "errorType": "Runtime.ExitError" if self.process.poll() is not None else "Sandbox.Timedout",
                "errorMessage": "RequestId: {request_id} Error: Runtime exited during init"
                if self.process.poll() is not None
                else f"RequestId: {{request_id}} Error: init phase exceeded {INIT_TIMEOUT_S:.0f} seconds",
            }
        elif init.get("error"):
            self.init_error = init["error"]
        self.max_memory_mb = int(init["max_memory_mb"]) if init else 0

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next frame from the worker, or None on deadline or exit."""
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([self._response_r], [], [], remaining)
        if not ready:
            return None
        try:
            return bootstrap.read_frame(self._response_r)
        except EOFError:
            self.process.wait(timeout=5)
            return None

    def _new_output(self) -> list[str]:
        self._output.seek(self._offset)
        data = self._output.read()
        self._offset += len(data)
        return data.decode(errors="replace").splitlines()

    def invoke(self, payload: bytes, request_id: str, invoked_arn: str, client_context: Any) -> _Outcome:
        self.invocations += 1
        started = time.perf_counter()
        request = {
            "request_id": request_id,
            "payload": payload.decode("utf-8", errors="replace"),
            "invoked_function_arn": invoked_arn,
            "deadline_ms": time.time() * 1000 + self.spec.timeout_s * 1000,
            "client_context": client_context,
        }
        try:
            bootstrap.write_frame(self._request_w, request)
        except BrokenPipeError:
            return _Outcome(None, 0.0, self._new_output(), exit_code=self.process.poll())
        response = self._receive(started + self.spec.timeout_s)
        duration_ms = (time.perf_counter() - started) * 1000
        timed_out = response is None and self.process.poll() is None
        if timed_out:
            self._stop()  # Lambda discards an environment whose invocation timed out
        if response is not None:
            self.max_memory_mb = int(response.get("max_memory_mb", self.max_memory_mb))
        return _Outcome(response, duration_ms, self._new_output(), timed_out, self.process.poll())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stop the process and release its pipes and output file."""
        self._stop()
        for fd in (self._request_w, self._response_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._output.close()
        self._output_path.unlink(missing_ok=True)
        shutil.rmtree(self._tmp_dir, ignore_errors=True)


@dataclass
class _Pool:
    """Warm environments per function, at most MAX_ENVIRONMENTS alive at once."""

    idle: dict[str, list[Environment]] = field(default_factory=dict)  # by function ARN + version
    live: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self, spec: FunctionSpec, build) -> tuple[Environment, bool]:
        slot = f"{spec.arn}:{spec.version}"
        with self.cond:
            while True:
                stale = [e for e in self.idle.get(slot, []) if e.spec.key != spec.key or not e.alive]
                for env in stale:  # code or configuration changed: replace, as Lambda does
                    self.idle[slot].remove(env)
                    self._discard(env)
                if self.idle.get(slot):
                    return self.idle[slot].pop(), False
                if self.live < MAX_ENVIRONMENTS:
                    self.live += 1
                    break
                victim = self._oldest_idle()
                if victim is not None:
                    self._discard(victim)
                    self.live += 1
                    break
                self.cond.wait(timeout=1.0)
        try:
            return build(), True
        except BaseException:
            with self.cond:
                self.live -= 1
                self.cond.notify()
            raise

    def release(self, env: Environment, reusable: bool) -> None:
        with self.cond:
            if reusable and env.alive:
                env.last_used = time.monotonic()
                self.idle.setdefault(f"{env.spec.arn}:{env.spec.version}", []).append(env)
            else:
                self._discard(env)
            self.cond.notify()

    def _discard(self, env: Environment) -> None:
        """Kill ``env`` and free its slot; the caller holds the lock."""
        self.live -= 1
        threading.Thread(target=env.kill, daemon=True).start()

    def _oldest_idle(self) -> Environment | None:
        envs = [e for group in self.idle.values() for e in group]
        if not envs:
            return None
        oldest = min(envs, key=lambda e: e.last_used)
        for group in self.idle.values():
            if oldest in group:
                group.remove(oldest)
        return oldest

    def reap(self, idle_seconds: float) -> int:
        now = time.monotonic()
        with self.cond:
            expired = [e for group in self.idle.values() for e in group if now - e.last_used > idle_seconds]
            for env in expired:
                for group in self.idle.values():
                    if env in group:
                        group.remove(env)
                self._discard(env)
            if expired:
                self.cond.notify_all()
        return len(expired)

    def summary(self) -> dict[str, int]:
        with self.cond:
            counts: dict[str, int] = {}
            for envs in self.idle.values():
                for env in envs:
                    counts[env.spec.name] = counts.get(env.spec.name, 0) + 1
            return counts

    def close(self) -> None:
        with self.cond:
            for env in [e for group in self.idle.values() for e in group]:
                env.kill()
            self.idle.clear()


_pool = _Pool()
_init_slots = threading.BoundedSemaphore(CONCURRENT_INITS)
_async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
_state: dict[str, Any] = {"port": config.DEFAULT_PORT}


def configure(port: int) -> None:
    """Called once at server start: where environments send boto3, where code is unpacked."""
    _state["port"] = port
    _state["cache"] = config.instance_dir(port) / "lambda"
    threading.Thread(target=_reaper, name="lambda-reaper", daemon=True).start()


def _reaper() -> None:
    while True:
        time.sleep(min(10.0, max(IDLE_SECONDS / 2, 0.5)))
        reaped = _pool.reap(IDLE_SECONDS)
        if reaped:
            log.info("reaped %d idle execution environment(s)", reaped)


def pool_summary() -> dict[str, int]:
    return _pool.summary()


def shutdown() -> None:
    _async.shutdown(wait=False, cancel_futures=True)
    _pool.close()


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
    return spec, fn.code_bytes, layers


def _error_payload(error: dict[str, Any], request_id: str) -> bytes:
    doc = {k: (v.replace("{request_id}", request_id) if isinstance(v, str) else v) for k, v in error.items()}
    return json.dumps(doc).encode()


def _run(spec: FunctionSpec, code: bytes, layers: list[tuple[str, bytes]], payload: bytes,
         invoked_arn: str, client_context: Any) -> tuple[bytes, str | None, list[str]]:
    """Run one invocation in a warm or new environment: (payload, function error, log lines)."""
    request_id = str(uuid.uuid4())
    def build() -> Environment:
        with _init_slots:
            return Environment(spec, code, layers, _state["cache"], _state["port"])

    env, cold = _pool.acquire(spec, build)
    lines = list(env.init_lines) if cold else []
    if env.init_error is not None:
        lines += [logs.start_line(request_id, spec.version)]
        lines += logs.end_lines(request_id, env.init_ms, spec.memory_mb, env.max_memory_mb, env.init_ms, False)
        _pool.release(env, reusable=False)
        logs.write(spec.account_id, spec.region, f"/aws/lambda/{spec.name}", env.log_stream, lines)
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
        status = outcome.exit_code
        result = {"errorType": "Runtime.ExitError",
                  "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"}
        function_error = "Unhandled"
    elif outcome.response["ok"]:
        result = None
    else:
        result = outcome.response["error"]
        function_error = "Unhandled"
    lines += logs.end_lines(request_id, outcome.duration_ms, spec.memory_mb, env.max_memory_mb,
                            env.init_ms if cold else None, outcome.timed_out)
    _pool.release(env, reusable=outcome.response is not None and env.alive)
    logs.write(spec.account_id, spec.region, f"/aws/lambda/{spec.name}", env.log_stream, lines)
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
    spec, code, layers = _lookup(function, qualifier, account_id, region)
    invoked_arn = spec.arn if not qualifier else f"{spec.arn}:{qualifier}"
    if invocation_type == "DryRun":
        return InvokeResult(204, b"", executed_version=spec.version)
    if invocation_type == "Event":
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(ASYNC_PAYLOAD_LIMIT, "Invoke")
        _async.submit(_run_event, spec, code, layers, payload, invoked_arn, client_context)
        return InvokeResult(202, b"", executed_version=spec.version)
    if len(payload) > SYNC_PAYLOAD_LIMIT:
        raise RequestTooLarge(SYNC_PAYLOAD_LIMIT, "Invoke")
    try:
        json.loads(payload)
    except ValueError as exc:
        raise LambdaClientError("InvalidRequestContentException", f"Could not parse request body into json: {exc}") from exc
    body, function_error, lines = _run(spec, code, layers, payload, invoked_arn, client_context)
    if len(body) > SYNC_RESPONSE_LIMIT:
        body = json.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload size ({SYNC_RESPONSE_LIMIT} bytes).",
                           "errorType": "Function.ResponseSizeTooLarge"}).encode()
        function_error = "Unhandled"
    log_result = base64.b64encode(logs.tail(lines).encode()).decode() if log_type == "Tail" else None
    return InvokeResult(200, body, function_error, log_result, spec.version)


def _run_event(spec: FunctionSpec, code: bytes, layers: list[tuple[str, bytes]], payload: bytes,
               invoked_arn: str, client_context: Any) -> None:
    try:
        _, function_error, _ = _run(spec, code, layers, payload, invoked_arn, client_context)
        if function_error:
            log.info("asynchronous invocation of %s failed (not retried locally)", spec.name)
    except Exception:  # an Event invocation has no caller to tell; the log keeps it
        log.exception("asynchronous invocation of %s could not run", spec.name)
