"""Memory of a process and every process below it, read from Linux's /proc.

RSS counts every page a process has in memory, including pages it shares with others (the
Python interpreter's code, pages a forked child has not written to yet): summed over a tree
it counts those pages once per process. PSS splits each shared page among the processes
that share it, so the PSS of a tree adds up to what the tree really costs the machine.
Both are given; use the PSS sum for "how much does this cost", RSS for one process alone.

The whole descendant tree is walked (``/proc/PID/task/*/children``), not only direct
children: Lambda environments may be forked from a template process below the server.
Linux only; a process that exits during the walk is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    parent: int
    depth: int  # 0 for the root of the walk
    command: str  # the command line, shortened
    rss_kib: int  # VmRSS
    pss_kib: int  # Pss from smaps_rollup
    hwm_kib: int  # VmHWM: the peak RSS since the process started

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024

    @property
    def pss_mib(self) -> float:
        return self.pss_kib / 1024


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (started by any of its threads)."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def _status_kib(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if rest.strip().endswith(" kB"):
            values[name] = int(rest.split()[0])
    return values


def _pss_kib(pid: int) -> int:
    for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _command(pid: int, width: int) -> str:
    raw = " ".join((PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ").split())
    return raw if len(raw) <= width else raw[: width - 1] + "…"


def measure(pid: int, parent: int = 0, depth: int = 0, command_width: int = 100) -> ProcessMemory | None:
    """One process's memory, or None if it is gone (or a zombie, which holds none)."""
    try:
        status = _status_kib(pid)
        if "VmRSS" not in status:  # a zombie or a kernel thread
            return None
        return ProcessMemory(pid, parent, depth, _command(pid, command_width), status["VmRSS"],
                             _pss_kib(pid), status.get("VmHWM", 0))
    except (OSError, ValueError):
        return None


def stdout_target(pid: int) -> str | None:
    """Where the process's standard output goes (a log file names what it runs), if readable."""
    try:
        return os.readlink(PROC / str(pid) / "fd" / "1")
    except OSError:
        return None


def descendants(root: int) -> list[tuple[int, int, int]]:
    """(pid, parent, depth) of ``root`` (depth 0) and every process below it, parents first."""
    found = []
    stack = [(root, 0, 0)]
    while stack:
        pid, parent, depth = stack.pop()
        found.append((pid, parent, depth))
        stack += [(child, pid, depth + 1) for child in reversed(children(pid))]
    return found


def tree(root: int) -> list[ProcessMemory]:
    """The memory of ``root`` and all its descendants, parents before their children."""
    measured = (measure(pid, parent, depth) for pid, parent, depth in descendants(root))
    return [entry for entry in measured if entry is not None]


def totals(processes: list[ProcessMemory]) -> tuple[int, int]:
    """(RSS sum, PSS sum) in KiB. The RSS sum counts a shared page once per process sharing it; PSS once."""
    return sum(p.rss_kib for p in processes), sum(p.pss_kib for p in processes)


def report(processes: list[ProcessMemory], label: str = "server",
           name: Callable[[ProcessMemory], str] | None = None) -> str:
    """A table of the tree, with the root named ``label``, the others by ``name`` (default:
    their command line), and the two totals."""
    lines = [f"{'pid':>10} {'RSS MiB':>9} {'PSS MiB':>9} {'peak MiB':>9}  process"]
    for p in processes:
        shown = label if p.depth == 0 else (name or (lambda q: q.command))(p)
        lines.append(f"{'  ' * p.depth}{p.pid:>10} {p.rss_mib:9.1f} {p.pss_mib:9.1f} {p.hwm_kib / 1024:9.1f}  {shown}")
    rss, pss = totals(processes)
    lines.append(f"total of {len(processes)} processes: RSS sum {rss / 1024:.1f} MiB (a page shared by n processes "
                 f"counted n times), PSS sum {pss / 1024:.1f} MiB (each shared page split among its sharers: the "
                 f"honest total)")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    found = tree(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    print(report(found, label=found[0].command if found else ""))
