"""Memory of an idle local cloud with the pipeline deployed: prints figures, asserts nothing.

It starts a local cloud of its own (a free port, a temporary state folder), records the
memory of its process tree, then for each of ``--learners`` learners deploys the pipeline
with notebooks 00-05 (prefix ``idle-1``, ``idle-2``...; executed copies in a temporary
folder), POSTs the photos in ``data/`` one after another through that learner's REST API
(each waited for until its record is final, so every function of the pipeline has run and
keeps a warm execution environment), waits until the local cloud is idle (its tree uses
under 5 % of a core), and prints:

- the server process's RSS and PSS, and its peak RSS (VmHWM);
- each process below it (the Lambda execution environments, however deep), the same;
- the totals: the RSS sum (counts pages shared between processes once per process, so it
  overstates) and the PSS sum (shared pages split among the sharers: the honest total).

With two or more learners it also prints what each learner's pipeline added to the one
local cloud (PSS sum and server RSS), which is what a shared local cloud costs per learner.
A learner with a local cloud of their own (the shared-server setup of docs/instructor.md)
costs the whole tree of the first learner.

Run: .venv/bin/python benchmarks/idle_memory.py [--learners 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import machine, process_memory  # noqa: E402
from benchmarks.deploy import deploy  # noqa: E402

DATA_DIR = REPO_ROOT / "data"
PHOTOS = ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg")
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg"}
FINAL = ("SUCCEEDED", "FAILED")
MAX_LEARNERS = 5
IDLE_CPU_SHARE = 0.05  # of one core, over IDLE_WINDOW_S
IDLE_WINDOW_S = 2.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int, below: bool = True) -> float:
    """CPU time used so far by ``root`` (all its threads) and, if ``below``, its live descendants."""
    total = 0
    for pid, _, _ in process_memory.descendants(root) if below else [(root, 0, 0)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def wait_idle(root: int, timeout: float = 120.0) -> float:
    """Seconds waited until the tree used under IDLE_CPU_SHARE of a core over IDLE_WINDOW_S."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(root)
        time.sleep(IDLE_WINDOW_S)
        if cpu_seconds(root) - before < IDLE_CPU_SHARE * IDLE_WINDOW_S:
            break
    return time.monotonic() - started


def send_photos(url: str, timeout: float = 120.0) -> list[str]:
    """POST each photo, then GET its record until final; the final statuses, in order."""
    import requests

    statuses = []
    with requests.Session() as http:
        for name in PHOTOS:
            path = DATA_DIR / name
            answer = http.post(f"{url}/images", data=path.read_bytes(),
                               headers={"Content-Type": CONTENT_TYPES[path.suffix]}, timeout=60)
            if answer.status_code != 202:
                statuses.append(f"{name}: HTTP {answer.status_code}")
                continue
            image_id = answer.json()["id"]
            deadline = time.monotonic() + timeout
            status = "PROCESSING"
            while status not in FINAL and time.monotonic() < deadline:
                time.sleep(0.2)
                record = http.get(f"{url}/images/{image_id}", timeout=30)
                status = record.json().get("status", "") if record.status_code == 200 else status
            statuses.append(status)
    return statuses


def role(process: process_memory.ProcessMemory) -> str:
    """What a process below the server runs: a Lambda environment's log file names its function."""
    target = process_memory.stdout_target(process.pid) or ""
    if "/lambda/" in target:
        return "Lambda " + target.split("/lambda/", 1)[1]
    return process.command


def show(title: str, server: int) -> list[process_memory.ProcessMemory]:
    processes = process_memory.tree(server)
    print(f"\n== {title}")
    print(process_memory.report(processes, name=role))
    below = processes[1:]
    print(f"server alone: RSS {processes[0].rss_mib:.1f} MiB, PSS {processes[0].pss_mib:.1f} MiB; "
          f"{len(below)} processes below it: RSS sum {sum(p.rss_kib for p in below) / 1024:.1f} MiB, "
          f"PSS sum {sum(p.pss_kib for p in below) / 1024:.1f} MiB; the server's CPU so far "
          f"{cpu_seconds(server, below=False):.1f} s")
    return processes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1,
                        help=f"pipelines deployed into the one local cloud, one after another (1-{MAX_LEARNERS})")
    args = parser.parse_args(argv)
    if not 1 <= args.learners <= MAX_LEARNERS:
        parser.error(f"--learners must be between 1 and {MAX_LEARNERS}")

    from helpers import notebook_runner

    print(f"machine: {machine.describe()}")
    if hasattr(os, "getloadavg"):  # other work on the machine: said, as it slows the deploys (not memory)
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    output_dir = Path(tempfile.mkdtemp(prefix="idle-memory-"))
    try:
        with notebook_runner.fresh_localcloud() as instance:
            print(f"a local cloud of its own at {instance.endpoint} (pid {instance.pid})")
            wait_idle(instance.pid)
            previous = show("started, nothing deployed", instance.pid)
            for learner in range(1, args.learners + 1):
                prefix = f"idle-{learner}"
                print(f"\ndeploying with notebooks 00-05 (prefix {prefix})")
                url = deploy(output_dir / prefix, prefix)
                print(f"POSTing {len(PHOTOS)} photos to {url}/images: {', '.join(send_photos(url))}")
                waited = wait_idle(instance.pid)
                current = show(f"{learner} pipeline(s) deployed, idle (waited {waited:.0f} s for idle)",
                               instance.pid)
                rss, pss = process_memory.totals(current)
                before_rss, before_pss = process_memory.totals(previous)
                print(f"learner {learner} added: PSS sum {(pss - before_pss) / 1024:+.1f} MiB, RSS sum "
                      f"{(rss - before_rss) / 1024:+.1f} MiB, server RSS "
                      f"{(current[0].rss_kib - previous[0].rss_kib) / 1024:+.1f} MiB, environments "
                      f"{len(previous) - 1} -> {len(current) - 1}")
                previous = current
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
