"""Execution environments forked from a template process: cold starts in milliseconds.

A new environment used to be a new interpreter that imported the runtime and then boto3
before the handler's own code ran: about 0.15-0.5 s of CPU per cold start, which under load
was most of what the local cloud spent. The template (``template.py``) has imported them
once; each environment is a ``fork()`` of it. The handler's module is still imported in the
new environment, so module-level code runs once per environment, as on Lambda.

The template is started by the :class:`~.workers.Spawner` thread (so the kernel ends it with
the server) and forks on request over a socket pair, passing each environment its pipes
and log file. The environments are the template's children: it reaps them and reports each
exit code, which :class:`ForkedProcess` keeps, so the runtime treats them like the
``subprocess.Popen`` it starts where forking is not available (not Linux, or
``LOCALCLOUD_LAMBDA_FORK=0``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from . import workers

log = logging.getLogger("localcloud.lambda")

TEMPLATE = workers.TEMPLATE
START_TIMEOUT_S = 60.0  # the template imports boto3 once; a loaded machine can take seconds
FORK_TIMEOUT_S = 10.0
_MAX_MESSAGE = 1 << 20


def available() -> bool:
    """Forking is used on Linux (parent-death signals, SOCK_SEQPACKET) unless turned off."""
    return (sys.platform.startswith("linux") and hasattr(socket, "send_fds")
            and os.environ.get("LOCALCLOUD_LAMBDA_FORK", "1") != "0")


class ForkedProcess:
    """A forked environment: the part of ``subprocess.Popen`` the runtime uses.

    It is the template's child, not the server's, so its exit code comes from the template.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"environment {self.pid}", timeout or 0)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        if self.returncode is None:  # once reaped, the pid may belong to someone else
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def exited(self, code: int) -> None:
        self.returncode = code
        self._exited.set()


class ForkServer:
    """The template process and the thread that hears from it."""

    def __init__(self, spawner: workers.Spawner, cache: Path, runtime_dir: Path, base_env: dict[str, str]) -> None:
        self._spawner = spawner
        self._cache = cache
        self._runtime_dir = runtime_dir
        self._base_env = base_env
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._control: socket.socket | None = None
        self._template: subprocess.Popen | None = None
        self._record: Path | None = None

    def _start(self) -> socket.socket:
        """Start the template and wait until it has imported the runtime; the caller holds the lock."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._cache.mkdir(parents=True, exist_ok=True)
        with open(self._cache / "template.log", "ab") as output:
            self._template = self._spawner.popen(
                [sys.executable, "-I", "-S", "-u", str(TEMPLATE), str(theirs.fileno()), str(self._runtime_dir),
                 str(self._cache)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),),
                env=self._base_env, cwd=self._cache)
        theirs.close()
        self._record = workers.record(self._cache, self._template.pid, "")
        ours.settimeout(START_TIMEOUT_S)
        try:
            ready = json.loads(ours.recv(_MAX_MESSAGE) or b"{}")
        except (OSError, ValueError):
            ready = {}
        if ready.get("ready") != self._template.pid:
            self._stop_template()
            ours.close()
            raise RuntimeError(f"the Lambda template process did not start; see {self._cache / 'template.log'}")
        ours.settimeout(None)
        log.info("Lambda template process %d ready (%d modules preloaded)", self._template.pid, ready["preloaded"])
        threading.Thread(target=self._listen, args=(ours,), name="lambda-forks", daemon=True).start()
        return ours

    def spawn(self, config: dict[str, Any], env: dict[str, str], fds: tuple[int, int, int]) -> ForkedProcess:
        """A new environment serving ``bootstrap.serve`` with ``config`` and ``env``.

        ``fds``: its log file (becomes fd 1 and 2), its request pipe and its response pipe.
        """
        with self._lock:
            if self._control is None:
                self._control = self._start()
            request_id = next(self._ids)
            future: Future = Future()
            self._pending[request_id] = future
            message = {"id": request_id, "config": config, "env": env, "runtime_paths": [str(self._runtime_dir)]}
            try:
                socket.send_fds(self._control, [json.dumps(message).encode()], list(fds))
            except OSError:
                self._pending.pop(request_id, None)
                raise
        return future.result(timeout=FORK_TIMEOUT_S)

    def _listen(self, control: socket.socket) -> None:
        while True:
            try:
                data = control.recv(_MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "exit" in message:
                child = self._children.pop(message["exit"], None)
                if child is not None:
                    child.exited(int(message["code"]))
            else:  # a fork's answer; it always comes before that child's exit
                child = ForkedProcess(int(message["pid"]))
                self._children[child.pid] = child
                future = self._pending.pop(message["id"], None)
                if future is not None:
                    future.set_result(child)
        self._template_gone(control)

    def _template_gone(self, control: socket.socket) -> None:
        # Its children die with it (parent-death signal): report them killed, start afresh next time.
        with self._lock:
            if self._control is control:
                self._control = None
            self._stop_template()
            children, self._children = self._children, {}
            pending, self._pending = self._pending, {}
        control.close()
        for child in children.values():
            child.exited(-signal.SIGKILL)
        for future in pending.values():
            future.set_exception(RuntimeError("the Lambda template process ended"))

    def _stop_template(self) -> None:
        if self._template is not None:
            if self._template.poll() is None:
                self._template.kill()
            self._template.wait(timeout=5)
            self._template = None
        if self._record is not None:
            self._record.unlink(missing_ok=True)
            self._record = None

    def close(self) -> None:
        """End the template (its environments end with it)."""
        with self._lock:
            control, self._control = self._control, None
            self._stop_template()
        if control is not None:
            control.close()
