"""Holds each execution environment to its MemorySize, as Lambda does.

Lambda runs a function in a sandbox whose memory is capped at MemorySize: when the
function's process goes over it, it is killed (SIGKILL), and the invocation fails with
``Runtime.ExitError`` "Runtime exited with error: signal: killed".

Here there is no root and no cgroup to lean on, so one thread of the server samples the
``VmHWM`` (peak resident set size, from ``/proc/PID/status``) of every worker that runs code
(its init or an invocation; an idle one cannot grow) every :data:`SAMPLE_SECONDS` and kills a
worker whose peak is over its limit. Why not a resource
limit in the worker: ``RLIMIT_AS`` caps *address space*, not memory. A Python process with
numpy, Pillow or onnxruntime reserves far more address space than it touches (malloc
arenas, thread stacks, allocator pools), so it would refuse functions that fit in their
memory on Lambda, and when it bites it raises ``MemoryError`` inside the handler (a
catchable, handled error) instead of ending the process as Lambda does. Peak RSS is also
what Lambda's REPORT line calls "Max Memory Used", so enforcement and reporting agree.

What differs: the kill comes up to one sample late, so a worker can briefly overshoot by
what it allocates in that time (the test allocates in 8 MB steps and is stopped within a
few of them); the peak counts this process, not processes the handler starts.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("localcloud.lambda")

SAMPLE_SECONDS = float(os.environ.get("LOCALCLOUD_LAMBDA_MEMORY_SAMPLE_SECONDS", "0.02"))


def peak_kib(pid: int) -> int | None:
    """The process's peak resident set size in KiB (VmHWM), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class _Watched:
    process: subprocess.Popen
    limit_kib: int
    peak_kib: int = 0
    killed: bool = False
    # Only a process that runs code can grow: idle environments are not sampled (with dozens of
    # them, sampling all every 20 ms costs the server a noticeable share of a core).
    running: bool = True


class Monitor:
    """Samples the watched workers' peak memory; kills one over its limit."""

    def __init__(self, sample_seconds: float = SAMPLE_SECONDS) -> None:
        self._watched: dict[int, _Watched] = {}
        self._lock = threading.Lock()
        self._sample_seconds = sample_seconds
        self._thread: threading.Thread | None = None

    def watch(self, process: subprocess.Popen, memory_mb: int) -> None:
        with self._lock:
            self._watched[process.pid] = _Watched(process, memory_mb * 1024)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lambda-memory", daemon=True)
                self._thread.start()
        self.sample(process.pid)  # a worker that is over its limit at once is stopped at once

    def running(self, pid: int, running: bool) -> None:
        """Whether the environment runs code (init or an invocation) and so is sampled."""
        with self._lock:
            watched = self._watched.get(pid)
            if watched is not None:
                watched.running = running
        if not running:
            self.sample(pid)  # what it reached since the last sample

    def forget(self, pid: int) -> None:
        with self._lock:
            self._watched.pop(pid, None)

    def killed(self, pid: int) -> bool:
        with self._lock:
            watched = self._watched.get(pid)
        return bool(watched and watched.killed)

    def peak_mb(self, pid: int) -> int:
        """The largest peak seen, in MB as Lambda reports it (also after the process is gone)."""
        self.sample(pid)
        with self._lock:
            watched = self._watched.get(pid)
        return watched.peak_kib // 1024 if watched else 0

    def sample(self, pid: int) -> None:
        with self._lock:
            watched = self._watched.get(pid)
        if watched is None or watched.killed:
            return
        peak = peak_kib(pid)
        if peak is None or watched.process.poll() is not None:
            return
        watched.peak_kib = max(watched.peak_kib, peak)
        if peak > watched.limit_kib:
            watched.killed = True
            watched.process.kill()
            log.info("Lambda worker %d used %d MB, over its %d MB: killed", pid, peak // 1024,
                     watched.limit_kib // 1024)

    def _run(self) -> None:
        while True:
            with self._lock:
                pids = [pid for pid, watched in self._watched.items() if watched.running]
            for pid in pids:
                self.sample(pid)
            time.sleep(self._sample_seconds)
