"""One Lambda execution environment: what it is built from, its process, its variables, its life.

An execution environment is a ``bootstrap.py`` process built from one snapshot of the
function (:class:`FunctionSpec`: code, layers, handler, memory, timeout, environment
variables, role). It is forked from the template (``forkserver.py``) or, without one,
started as a new interpreter; it imports the handler once (its init, within
``INIT_TIMEOUT_S``) and then serves invocations one at a time, each within the function's
timeout, under the memory monitor (``memory.py``). ``pool.py`` keeps environments warm;
``runtime.py`` runs invocations in them.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..auth import credentials as auth_credentials

# The worker's framing, shared: bootstrap.py is standard library only, so importable here too.
from . import bootstrap, forkserver, logs, packages, workers
from .memory import Monitor

log = logging.getLogger("localcloud.lambda")

# moto lets a function be created without a real role; its environment still needs credentials.
_FALLBACK_ROLE = "arn:aws:iam::{account}:role/localcloud-function-without-role"
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand environment
BOOTSTRAP = workers.BOOTSTRAP

_spawner = workers.Spawner()
_monitor = Monitor()
_forks_lock = threading.Lock()
_forks_state: dict[str, forkserver.ForkServer | None] = {}  # "forks": this instance's, once started


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
class Outcome:
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

    def invoke(self, payload: bytes, request_id: str, invoked_arn: str, client_context: Any) -> Outcome:
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
            return Outcome(None, 0.0, self._new_output(), exit_code=self.process.poll())
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
        return Outcome(response, duration_ms, self._new_output(), timed_out, self.process.poll(),
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


def _forks(cache: Path, runtime_dir: Path) -> forkserver.ForkServer | None:
    """This instance's fork server, started on first use; None where forking is not used."""
    with _forks_lock:
        if "forks" not in _forks_state:
            _forks_state["forks"] = (forkserver.ForkServer(_spawner, cache, runtime_dir, BASE_ENV)
                                     if forkserver.available() else None)
        return _forks_state["forks"]


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
                _forks_state["forks"] = None
    return _spawner.popen(
        [sys.executable, "-I", "-S", "-u", str(BOOTSTRAP), str(request_r), str(response_w), json.dumps(boot_config)],
        stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, pass_fds=(request_r, response_w),
        env=env, cwd=boot_config["task_root"])


def close_forks() -> None:
    """At server stop: end the template environments are forked from."""
    forks = _forks_state.pop("forks", None)
    if forks is not None:
        forks.close()
