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
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from .. import config
from ..auth import credentials as auth_credentials

# The worker's framing, shared: bootstrap.py is standard library only, so importable here too.
from . import bootstrap, forkserver, logs, packages, workers
from .memory import Monitor

log = logging.getLogger("localcloud.lambda")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6291456 bytes, request and response
SYNC_RESPONSE_LIMIT = 6291556  # the figure Lambda's error message names
ASYNC_PAYLOAD_LIMIT = 256 * 1024
# moto lets a function be created without a real role; its environment still needs credentials.
_FALLBACK_ROLE = "arn:aws:iam::{account}:role/localcloud-function-without-role"
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand environment
# An environment's role credentials last 12 hours (credentials.issue_for_role); it is retired
# an hour before, so a function never signs with expired ones. Lambda recycles its own within hours.
MAX_ENVIRONMENT_AGE_S = 11 * 3600
IDLE_SECONDS = float(os.environ.get("LOCALCLOUD_LAMBDA_IDLE_SECONDS", 300))
MAX_ENVIRONMENTS = int(os.environ.get("LOCALCLOUD_LAMBDA_MAX_ENVIRONMENTS", 32))
# On Lambda every environment initializes on its own CPU; here they share this machine's
# cores, and twenty boto3 imports at once would each blow the 10 s init limit. Cold starts
# beyond this many wait their turn (the wait does not count against the init limit).
CONCURRENT_INITS = int(os.environ.get("LOCALCLOUD_LAMBDA_CONCURRENT_INITS", max(2, os.cpu_count() or 2)))
BOOTSTRAP = workers.BOOTSTRAP


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
    out_of_memory: bool = False


# Go's wording (Lambda's runtime API is written in Go) for the signals a worker dies of.
_SIGNAL_NAMES = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
                 signal.SIGTERM: "terminated", signal.SIGBUS: "bus error", signal.SIGINT: "interrupt"}


def exit_description(returncode: int | None) -> str:
    """How Lambda words a runtime's exit: "Runtime exited with error: signal: killed" / "exit status 1"."""
    if returncode is not None and returncode < 0:
        number = -returncode
        try:
            name = _SIGNAL_NAMES.get(signal.Signals(number), signal.Signals(number).name)
        except ValueError:
            name = str(number)
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


# What every environment (and the template they fork from) starts with, whatever the function sets.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    # Never read the developer's own ~/.aws files.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _worker_env(spec: FunctionSpec, task_root: Path, runtime_dir: Path, tmp_dir: Path, log_stream: str,
                port: int) -> dict[str, str]:
    """Only what Lambda sets, plus the endpoint that sends boto3 to the local cloud."""
    env = dict(spec.env_vars)
    env.update(BASE_ENV)
    env.update(
        {
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
        self.last_used = self.started = time.monotonic()
        self.invocations = 0
        self.retired = False  # its function was deleted while it served an invocation
        # Code and layers together within Lambda's limit, also when a zip's headers lie (the
        # declared sizes were checked at upload; these budgets bound what is really written).
        code_declared = packages.unzipped_size(code)
        layers_declared = sum(packages.unzipped_size(data) for _, data in layers)
        task_root = packages.task_root(cache, code, packages.MAX_UNZIPPED_BYTES - layers_declared)
        opt = packages.opt_dir(cache, layers, packages.MAX_UNZIPPED_BYTES - code_declared)
        runtime_dir = packages.runtime_dir(cache)
        self.folders = (task_root.name, opt.name if opt is not None else None)
        boot_config = {
            "handler": spec.handler,
            "task_root": str(task_root),
            "sys_path": packages.sys_path(task_root, opt, runtime_dir),
            "function_name": spec.name,
            "function_version": spec.version,
            "memory_mb": spec.memory_mb,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": self.log_stream,
            "parent_pid": os.getpid(),  # the worker ends itself when this process goes
        }
        (cache / "envs").mkdir(parents=True, exist_ok=True)
        self._output_path = cache / "envs" / f"{self.instance_id}.log"
        self._tmp_dir = cache / "envs" / f"{self.instance_id}.tmp"
        self._tmp_dir.mkdir()
        self._output = open(self._output_path, "w+b")
        self._offset = 0
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        started = time.perf_counter()
        env = _worker_env(spec, task_root, runtime_dir, self._tmp_dir, self.log_stream, port)
        try:
            self.process = _start_process(cache, runtime_dir, boot_config, env, self._output.fileno(), request_r,
                                          response_w)
        except BaseException:
            for fd in (self._request_w, self._response_r):
                os.close(fd)
            self._output.close()
            self._output_path.unlink(missing_ok=True)
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            raise
        finally:
            os.close(request_r)
            os.close(response_w)
        self._record = workers.record(cache, self.process.pid, self.instance_id)
        _monitor.watch(self.process, spec.memory_mb)
        init = self._receive(started + INIT_TIMEOUT_S)
        self.init_ms = (time.perf_counter() - started) * 1000
        self.init_lines = self._new_output()
        self.init_error: dict[str, Any] | None = None
        if init is None:
            exited = self.process.poll() is not None
            self.init_error = {
                "errorType": "Runtime.ExitError" if exited else "Sandbox.Timedout",
                "errorMessage": f"RequestId: {{request_id}} Error: {exit_description(self.process.returncode)}"
                if exited
                else f"RequestId: {{request_id}} Error: init phase exceeded {INIT_TIMEOUT_S:.0f} seconds",
            }
        elif init.get("error"):
            self.init_error = init["error"]
        self.max_memory_mb = max(int(init["max_memory_mb"]) if init else 0, _monitor.peak_mb(self.process.pid))
        _monitor.running(self.process.pid, False)

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
        _monitor.running(self.process.pid, True)
        try:
            bootstrap.write_frame(self._request_w, request)
        except BrokenPipeError:
            return _Outcome(None, 0.0, self._new_output(), exit_code=self.process.poll())
        response = self._receive(started + self.spec.timeout_s)
        _monitor.running(self.process.pid, False)
        duration_ms = (time.perf_counter() - started) * 1000
        timed_out = response is None and self.process.poll() is None
        if timed_out:
            self._stop()  # Lambda discards an environment whose invocation timed out
        if response is not None:
            self.max_memory_mb = int(response.get("max_memory_mb", self.max_memory_mb))
        # After a kill the worker cannot say; the monitor's samples can.
        self.max_memory_mb = max(self.max_memory_mb, _monitor.peak_mb(self.process.pid))
        return _Outcome(response, duration_ms, self._new_output(), timed_out, self.process.poll(),
                        out_of_memory=response is None and _monitor.killed(self.process.pid))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stop the process and release its pipes, output file, scratch space and record."""
        self._stop()
        _monitor.forget(self.process.pid)
        self._record.unlink(missing_ok=True)
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
    busy: set[Environment] = field(default_factory=set)  # serving an invocation now
    live: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def acquire(self, spec: FunctionSpec, build) -> tuple[Environment, bool]:
        slot = f"{spec.arn}:{spec.version}"
        with self.cond:
            while True:
                stale = [e for e in self.idle.get(slot, []) if e.spec.key != spec.key or not e.alive
                         or time.monotonic() - e.started > MAX_ENVIRONMENT_AGE_S]
                # Code or configuration changed, or the environment is old enough that its role's
                # credentials would soon expire: replace it, as Lambda recycles its environments.
                for env in stale:
                    self.idle[slot].remove(env)
                    self._discard(env)
                if self.idle.get(slot):
                    env = self.idle[slot].pop()
                    self.busy.add(env)
                    return env, False
                if self.live < MAX_ENVIRONMENTS:
                    self.live += 1
                    break
                victim = self._victim()
                if victim is not None:
                    self._discard(victim)
                    self.live += 1
                    break
                self.cond.wait(timeout=1.0)
        try:
            env = build()
        except BaseException:
            with self.cond:
                self.live -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.busy.add(env)
        return env, True

    def release(self, env: Environment, reusable: bool) -> None:
        with self.cond:
            self.busy.discard(env)
            if reusable and env.alive and not getattr(env, "retired", False):
                env.last_used = time.monotonic()
                self.idle.setdefault(f"{env.spec.arn}:{env.spec.version}", []).append(env)
            else:
                self._discard(env)
            self.cond.notify()

    def _discard(self, env: Environment) -> None:
        """Kill ``env`` and free its slot; the caller holds the lock."""
        self.live -= 1
        threading.Thread(target=env.kill, daemon=True).start()

    def _victim(self) -> Environment | None:
        """The idle environment to give up for a new one, taken out of the pool; the caller holds the lock.

        From the function that holds the most environments, its least recently used: taking
        the oldest of all would take a function's only warm environment while another has a
        dozen idle, and under load the functions would keep evicting each other into cold starts.
        """
        sizes = Counter(f"{e.spec.arn}:{e.spec.version}" for e in self.busy)
        for slot, group in self.idle.items():
            sizes[slot] += len(group)
        slots = [slot for slot, group in self.idle.items() if group]
        if not slots:
            return None
        group = self.idle[max(slots, key=lambda slot: sizes[slot])]
        victim = min(group, key=lambda e: e.last_used)
        group.remove(victim)
        return victim

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

    def discard_where(self, condition) -> None:
        """Discard idle environments whose spec meets ``condition``; busy ones finish, then go."""
        with self.cond:
            for group in self.idle.values():
                for env in [e for e in group if condition(e.spec)]:
                    group.remove(env)
                    self._discard(env)
            for env in self.busy:
                if condition(env.spec):
                    env.retired = True
            self.cond.notify_all()

    def folders_in_use(self) -> tuple[set[str], set[str]]:
        with self.cond:
            envs = [e for group in self.idle.values() for e in group] + list(self.busy)
        return {e.folders[0] for e in envs}, {e.folders[1] for e in envs if e.folders[1]}

    def close(self) -> None:
        with self.cond:
            for env in [e for group in self.idle.values() for e in group]:
                env.kill()
            self.idle.clear()
            for env in list(self.busy):  # their invocations end now, as the server does
                env._stop()


class _Concurrency:
    """In-flight invocations per function, held to its reserved concurrency when it has one."""

    def __init__(self) -> None:
        self._running: dict[str, int] = {}
        self._cond = threading.Condition()

    def try_acquire(self, key: str, reserved: int | None) -> bool:
        with self._cond:
            if reserved is not None and self._running.get(key, 0) >= reserved:
                return False
            self._running[key] = self._running.get(key, 0) + 1
            return True

    def acquire_waiting(self, key: str, reserved: int | None) -> None:
        """For asynchronous invocations: Lambda queues a throttled event and retries it."""
        with self._cond:
            while reserved is not None and self._running.get(key, 0) >= reserved:
                self._cond.wait(timeout=1.0)
            self._running[key] = self._running.get(key, 0) + 1

    def release(self, key: str) -> None:
        with self._cond:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
            self._cond.notify_all()


_pool = _Pool()
_init_slots = threading.BoundedSemaphore(CONCURRENT_INITS)
_async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
_spawner = workers.Spawner()
_forks_lock = threading.Lock()
_monitor = Monitor()
_concurrency = _Concurrency()
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
    threading.Thread(target=_reaper, name="lambda-reaper", daemon=True).start()


def reap_orphans(instance_dir: Path | str) -> list[int]:
    """End the workers a crashed local cloud left in ``instance_dir`` and remove their files
    (for ``process.py``'s start and stop; see :func:`workers.reap_orphans`)."""
    return workers.reap_orphans(instance_dir)


def _forks(cache: Path, runtime_dir: Path) -> forkserver.ForkServer | None:
    """This instance's fork server, started on first use; None where forking is not used."""
    with _forks_lock:
        if "forks" not in _state:
            _state["forks"] = (forkserver.ForkServer(_spawner, cache, runtime_dir, BASE_ENV)
                               if forkserver.available() else None)
        return _state["forks"]


def _start_process(cache: Path, runtime_dir: Path, boot_config: dict[str, Any], env: dict[str, str], output: int,
                   request_r: int, response_w: int) -> forkserver.ForkedProcess | subprocess.Popen:
    """A new environment's process: forked from the template, or a fresh interpreter without one."""
    forks = _forks(cache, runtime_dir)
    if forks is not None:
        try:
            return forks.spawn(boot_config, env, (output, request_r, response_w))
        except RuntimeError as exc:  # no template: every cold start is slow, none fails
            log.warning("%s: Lambda environments start as new processes from now on", exc)
            with _forks_lock:
                _state["forks"] = None
    return _spawner.popen(
        [sys.executable, "-I", "-S", "-u", str(BOOTSTRAP), str(request_r), str(response_w), json.dumps(boot_config)],
        stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, pass_fds=(request_r, response_w),
        env=env, cwd=boot_config["task_root"])


def _reaper() -> None:
    while True:
        time.sleep(min(10.0, max(IDLE_SECONDS / 2, 0.5)))
        reaped = _pool.reap(IDLE_SECONDS)
        if reaped:
            log.info("reaped %d idle execution environment(s)", reaped)


def pool_summary() -> dict[str, int]:
    return _pool.summary()


def shutdown() -> None:
    """At server stop: end every environment and remove the unpacked code and scratch space."""
    _async.shutdown(wait=False, cancel_futures=True)
    _pool.close()
    forks = _state.pop("forks", None)
    if forks is not None:
        forks.close()
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
