"""Worker processes that cannot outlive their local cloud, and the cleanup after one that crashed.

Three layers, so no execution environment runs on without its server:

1. **Parent-death signal.** Each worker asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGKILL)``,
   in ``bootstrap.py``) to kill it when the thread that started it ends. The kernel ties
   this to the *thread*, not the process, and the front door serves each request on its own
   short-lived thread: so workers are started by :class:`Spawner`, one thread that lives as
   long as the server.
2. **Watchdog.** The worker also checks every half second that its parent is still the
   server and ends itself otherwise; this covers a platform without prctl and the race
   where the server died before the prctl call.
3. **Records.** Each worker's pid and start time are written to
   ``STATE/PORT/lambda/workers/PID.json`` while it lives. After a crash, :func:`reap_orphans`
   (called by ``process.py``'s start and stop, and by a starting server) ends the workers of
   a server that is gone and removes their temporary files. It kills only a process whose
   start time matches the record and whose command line is this file's ``bootstrap.py`` with
   this instance's folder: never a stranger that reused the pid.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.lambda")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
TEMPLATE = Path(__file__).with_name("template.py")
SERVER_RECORD = "server.json"
WORKERS = "workers"


class Spawner:
    """Starts worker processes from one long-lived thread (see the module's docstring)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[tuple[Any, ...], dict[str, Any], Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _serve(self) -> None:
        while True:
            args, kwargs, future = self._requests.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="lambda-spawner", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._requests.put((args, kwargs, future))
        return future.result()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _same_process(pid: int, started: int | None) -> bool:
    return started is not None and start_time(pid) == started


def record(cache: Path, pid: int, env_id: str) -> Path:
    """Note a running worker, for :func:`reap_orphans` after a crash."""
    folder = cache / WORKERS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pid}.json"
    doc = {"pid": pid, "start_time": start_time(pid), "env_id": env_id,
           "server_pid": os.getpid(), "server_start_time": start_time(os.getpid())}
    path.write_text(json.dumps(doc))
    return path


def record_server(cache: Path) -> None:
    """Note which server owns ``cache`` (its workers are orphans once it is gone)."""
    cache.mkdir(parents=True, exist_ok=True)
    doc = {"pid": os.getpid(), "start_time": start_time(os.getpid())}
    (cache / SERVER_RECORD).write_text(json.dumps(doc))


def _alive(pid: Any, started: Any) -> bool:
    """The recorded process still runs (a zombie, dead but not yet reaped, does not)."""
    return isinstance(pid, int) and isinstance(started, int) and _same_process(pid, started) and not _dead(pid)


PF_EXITING = 0x4  # the kernel's flag for a process inside exit (after SIGKILL, while its memory is freed)


def _dead(pid: int) -> bool:
    """Gone, a zombie, or already exiting: a killed server with a large heap takes a moment
    to become a zombie, and must not count as alive meanwhile."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        state, flags = fields[0], int(fields[6])
    except (OSError, IndexError, ValueError):
        return True
    return state in ("Z", "X") or bool(flags & PF_EXITING)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _is_our_worker(pid: int, doc: dict[str, Any], cache: Path) -> bool:
    if not _same_process(pid, doc.get("start_time")):
        return False
    argv = _cmdline(pid)
    # A forked environment and the template it came from both show the template's command line.
    return bool({str(BOOTSTRAP), str(TEMPLATE)} & set(argv)) and any(str(cache) in arg for arg in argv)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _dead(pid):  # gone, or dead and waiting for its parent (or init) to reap it
            return True
        time.sleep(0.02)
    return False


def reap_orphans(instance_dir: Path | str) -> list[int]:
    """End the Lambda workers a crashed local cloud left behind and remove their files.

    ``instance_dir`` is the instance's state folder (``config.instance_dir(port)``). Safe to call
    at any time: the workers of a server that is still running are left alone, and so is its
    code. Returns the pids that were killed.
    """
    cache = Path(instance_dir) / "lambda"
    folder = cache / WORKERS
    killed: list[int] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            doc = _read(path)
            if doc is None or _alive(doc.get("server_pid"), doc.get("server_start_time")):
                continue
            pid = doc.get("pid")
            if isinstance(pid, int) and _is_our_worker(pid, doc, cache):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
                except PermissionError:  # not ours after all
                    continue
                if not _wait_gone(pid, 5.0):
                    log.warning("orphaned Lambda worker %d did not end after SIGKILL", pid)
                    continue
            env_id = str(doc.get("env_id") or "")
            if env_id:
                (cache / "envs" / f"{env_id}.log").unlink(missing_ok=True)
                shutil.rmtree(cache / "envs" / f"{env_id}.tmp", ignore_errors=True)
            path.unlink(missing_ok=True)
    server = _read(cache / SERVER_RECORD)
    if cache.is_dir() and (server is None or not _alive(server.get("pid"), server.get("start_time"))):
        remaining = list(folder.glob("*.json")) if folder.is_dir() else []
        if not remaining:  # no server, no worker: the unpacked code and scratch space go too
            shutil.rmtree(cache, ignore_errors=True)
    if killed:
        log.info("ended %d orphaned Lambda worker(s) of %s: %s", len(killed), instance_dir, killed)
    return killed
