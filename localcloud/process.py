"""Start, find and stop a detached local cloud process.

Each instance is identified by its port; its key, pid file and log live in the user's
state folder, ``STATE/PORT/`` (``config.py``; mode 0700). An instance is *ours* only when
its health document names this OS user and proves, with an HMAC of a fresh challenge,
that it holds the key in our state folder: another user's local cloud on the same port,
or any other program, is never reused, deployed into or signalled. Stopping only ever
signals the pid recorded by our own start *and* answering that proof.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .auth import credentials
from .awslambda.workers import reap_orphans

START_TIMEOUT_S = 60.0
HEALTH_PATH = "/_localcloud/health"
# glibc's malloc settings for the server, read when it starts (a value already in the
# environment wins). It lives for hours, serves each request on a new thread and handles
# short-lived buffers of a few MB (images, model activations, S3 bodies). By default glibc
# raises its mmap threshold after the first such buffer is freed, so later ones come from
# the heap, and gives each thread's arena its own heap: freed memory then stays in the
# process. A fixed threshold returns every buffer over 128 KiB to the system when freed, and
# two arenas bound the heaps. Measured with benchmarks/idle_memory.py.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2"}


class LocalCloudError(RuntimeError):
    """The local cloud could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class Instance:
    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        return config.endpoint_url(self.port)

    @property
    def credentials(self) -> credentials.Credentials:
        return credentials.require(config.instance_dir(self.port))


def owner() -> dict[str, Any]:
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return {"uid": uid, "user": name}


def health_proof(secret: str, challenge: str) -> str:
    """What an instance answers to a health challenge: only the holder of its key can."""
    return hmac.new(secret.encode(), f"localcloud-health:{challenge}".encode(), hashlib.sha256).hexdigest()


def pid_file(port: int) -> Path:
    return config.instance_dir(port) / "server.pid"


def log_file(port: int) -> Path:
    return config.instance_dir(port) / "server.log"


def health(port: int, timeout: float = 1.0, challenge: str | None = None) -> dict | None:
    """The health document of whatever local cloud answers on the port (anyone's), or None."""
    url = config.endpoint_url(port) + HEALTH_PATH + (f"?challenge={challenge}" if challenge else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
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


def find(port: int, timeout: float = 1.0) -> Instance | None:
    """The healthy instance on ``port`` started by this user from this state folder, if any."""
    mine = credentials.load(config.instance_dir(port))
    if mine is None:
        return None
    challenge = secrets.token_hex(16)
    doc = health(port, timeout=timeout, challenge=challenge)
    if doc is None or doc.get("owner", {}).get("uid") != os.getuid():
        return None
    if not hmac.compare_digest(str(doc.get("proof", "")), health_proof(mine.secret_access_key, challenge)):
        return None
    return Instance(port=port, pid=int(doc["pid"]))


def _held_message(port: int) -> str:
    doc = health(port)
    if doc is None:
        holder = "another program that is not the local cloud"
    elif doc.get("owner", {}).get("uid") != os.getuid():
        holder = f"the local cloud of user {doc.get('owner', {}).get('user', '?')}"
    else:
        holder = "another local cloud of yours, started with another state folder (LOCALCLOUD_HOME)"
    return (f"port {port} on {config.HOST} is held by {holder}; unset LOCALCLOUD_PORT to let start pick a "
            f"free port, or choose one (python -m localcloud start --port N, or LOCALCLOUD_PORT=N)")


def not_running_message(port: int) -> str:
    """Why no instance of ours answers on ``port``, and how to start one."""
    start = f"start it: python -m localcloud start --port {port}"
    doc = health(port)
    if doc is not None and doc.get("owner", {}).get("uid") != os.getuid():
        return (f"not running on port {port}: that port is held by the local cloud of user "
                f"{doc.get('owner', {}).get('user', '?')}; yours needs another "
                f"(python -m localcloud start, without --port, picks a free one)")
    return f"not running on port {port} ({start})"


def _first_free_port() -> int:
    for port in range(config.DEFAULT_PORT, config.DEFAULT_PORT + config.PORT_RANGE):
        if find(port, timeout=0.3) or not _port_in_use(port):
            return port
    raise LocalCloudError(f"no free port between {config.DEFAULT_PORT} and "
                          f"{config.DEFAULT_PORT + config.PORT_RANGE - 1}; set LOCALCLOUD_PORT=N")


def start(port: int | None = None, timeout: float = START_TIMEOUT_S) -> Instance:
    """Start a detached instance of this user's, or reuse the healthy one already there.

    Without an explicit port (argument or ``LOCALCLOUD_PORT``), the port recorded in the
    state folder (else 4566) is used, or, when someone else holds it, the first free port
    from 4566 up, which is then recorded for next time.
    """
    explicit = port is not None or config.port_is_explicit()
    port = port or config.default_port()
    running = find(port)
    if running:
        return running
    if _port_in_use(port):
        if explicit:
            raise LocalCloudError(_held_message(port))
        port = _first_free_port()
        running = find(port)
        if running:
            config.record_port(port)
            return running
    config.private_dir(config.state_root())
    folder = config.private_dir(config.instance_dir(port))
    reap_orphans(folder)  # a crashed instance's Lambda workers and files, before a new one starts
    credentials.write(folder, credentials.generate())
    if not explicit:
        config.record_port(port)
    log_path = log_file(port)
    # From a checkout the server imports this package from it (installed, from site-packages);
    # it works in its instance folder either way, never in the caller's.
    checkout = config.source_checkout()
    env = {**MALLOC_ENV, **os.environ}
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log_handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            cwd=folder,
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
        reap_orphans(config.instance_dir(port))  # after a crash its workers may still run; a live server's stay
        return False
    _terminate(pid, timeout)
    reap_orphans(config.instance_dir(port))
    pid_file(port).unlink(missing_ok=True)
    credentials.path(config.instance_dir(port)).unlink(missing_ok=True)
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
    from .auth import client

    request = client.signed_request(config.endpoint_url(port), "GET", "/_localcloud/status")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def client_environment(port: int | None = None, region: str = config.DEFAULT_REGION) -> dict[str, str]:
    """The AWS_* variables that point an SDK or the AWS CLI at our running instance."""
    port = port or config.default_port()
    instance = find(port)
    if instance is None:
        raise LocalCloudError(f"no local cloud of yours on port {port}; start it: "
                              f"python -m localcloud start")
    return {"AWS_ENDPOINT_URL": instance.endpoint, **instance.credentials.as_env(),
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
