"""Start, find and stop a detached local cloud process.

Each instance is identified by its port; its pid file and log live in
``.localcloud/PORT/`` (git-ignored). Stopping only ever signals the pid recorded by
our own start *and* answering our own health check, so a reused pid or another
program on the port is never killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import config

START_TIMEOUT_S = 60.0
HEALTH_PATH = "/_localcloud/health"


class LocalCloudError(RuntimeError):
    """The local cloud could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class Instance:
    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        return config.endpoint_url(self.port)


def pid_file(port: int) -> Path:
    return config.instance_dir(port) / "server.pid"


def log_file(port: int) -> Path:
    return config.instance_dir(port) / "server.log"


def health(port: int, timeout: float = 1.0) -> dict | None:
    """The instance's health document, or None when nothing of ours answers on the port."""
    try:
        with urllib.request.urlopen(config.endpoint_url(port) + HEALTH_PATH, timeout=timeout) as resp:
            doc = json.loads(resp.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return doc if isinstance(doc, dict) and doc.get("service") == "localcloud" else None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((config.HOST, port)) == 0


def _read_pid(port: int) -> int | None:
    try:
        return int(pid_file(port).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find(port: int) -> Instance | None:
    """The healthy instance on ``port`` started by us, if any."""
    doc = health(port)
    if doc is None:
        return None
    return Instance(port=port, pid=int(doc["pid"]))


def start(port: int | None = None, timeout: float = START_TIMEOUT_S) -> Instance:
    """Start a detached instance on ``port``, or reuse the healthy one already there."""
    port = port or config.default_port()
    running = find(port)
    if running:
        return running
    if _port_in_use(port):
        raise LocalCloudError(
            f"port {port} on {config.HOST} is held by another program that is not the local cloud; "
            f"stop it or choose another port (python -m helpers.localcloud start --port N, "
            f"or LOCALCLOUD_PORT=N)"
        )
    folder = config.instance_dir(port)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = log_file(port)
    repo_root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log_handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.localcloud", "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            cwd=repo_root,
            env=env,
            # Its own session: it outlives the caller (a notebook kernel, make) and
            # `stop` can end it together with its Lambda workers.
            start_new_session=True,
        )
    pid_file(port).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalCloudError(
                f"the local cloud exited during start (code {proc.returncode}); "
                f"last lines of {log_path}:\n{tail(port, 20)}"
            )
        doc = health(port, timeout=0.5)
        if doc and int(doc["pid"]) == proc.pid:
            return Instance(port=port, pid=proc.pid)
        time.sleep(0.1)
    _terminate(proc.pid)
    raise LocalCloudError(f"the local cloud did not answer within {timeout:.0f} s; see {log_path}")


def stop(port: int | None = None, timeout: float = 10.0) -> bool:
    """Stop our instance on ``port``. Returns False when none was running."""
    port = port or config.default_port()
    pid = _read_pid(port)
    running = find(port)
    if running is None or pid is None or running.pid != pid:
        # Nothing of ours answers: only tidy a stale pid file, never signal a stranger.
        if pid is not None and not _alive(pid):
            pid_file(port).unlink(missing_ok=True)
        return False
    _terminate(pid, timeout)
    pid_file(port).unlink(missing_ok=True)
    return True


def _terminate(pid: int, timeout: float = 10.0) -> None:
    # The server leads its own process group: its Lambda workers go with it.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not _alive(pid):
                return
            time.sleep(0.05)


def tail(port: int, lines: int = 50) -> str:
    try:
        text = log_file(port).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def status(port: int | None = None) -> dict | None:
    """What the running instance reports about itself and what is deployed, or None."""
    port = port or config.default_port()
    if find(port) is None:
        return None
    with urllib.request.urlopen(config.endpoint_url(port) + "/_localcloud/status", timeout=10) as resp:
        return json.loads(resp.read())
