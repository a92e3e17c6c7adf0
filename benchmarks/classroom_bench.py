"""What one learner costs a shared server: K learners, each with a local cloud of their own.

For a workshop on one shared machine (a JupyterHub, say), each learner runs the notebooks
against a local cloud of their own. This starts K private local clouds (each with its own
state folder, LOCALCLOUD_HOME, and port, as K users would have), runs notebooks 00..07 for
each learner (prefix learner-1, learner-2...) with the notebook runner (papermill, one kernel
at a time, as a learner runs them one after another), and prints per learner:

- wall time of the run;
- the local cloud's process tree (the server and its Lambda workers: its process group):
  CPU seconds used from its start to the end of the run (from /proc, including workers that
  had already exited), its memory at start, at its peak (sampled every 0.2 s) and idle after
  the run: the tree (with warm Lambda workers, which stay 5 minutes after their last call) and
  the server alone (what is left after that). Memory of a tree is the sum of its processes'
  PSS (RSS with shared pages split among the processes sharing them); the server's exact
  peak RSS (VmHWM) is printed beside it;
- the notebook side (the runner and the kernels, one at a time): CPU seconds, and the peak
  RSS of its largest process (a kernel; getrusage of the runner, which waits for them).

With --jupyter it also measures an idle JupyterLab server (what a hub starts per user).

Learners run one after another by default, so each one's figures are its own; --concurrent
runs them all at once (then wall times show the contention; CPU seconds and memory stay per
learner). CPU seconds do not depend on how busy the machine is; wall times do.

Each learner's notebooks run in a folder of their own, build/classroom-bench/learner-N-PORT/ (with its
own functions/ and statemachine/, like a student copy), taken from the working tree or, with
--from-commit REV, from that commit. Linux only (it reads /proc).
Run: make bench-classroom LEARNERS=3  (or .venv/bin/python benchmarks/classroom_bench.py --help)
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ is not an installed package (make setup installs only helpers and localcloud), and
# `python benchmarks/x.py` puts benchmarks/, not the checkout, on sys.path: `from benchmarks import`
# needs the checkout inserted first, hence the late imports.
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import machine  # noqa: E402

WORK = REPO_ROOT / "build" / "classroom-bench"
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
SAMPLE_S = 0.2
REGION = "us-east-1"
SETTLE_S = 3.0  # after the run, before reading the idle figures
IDLE_WINDOW_S = 10.0  # then the idle local cloud's CPU use is measured over this long


# --- /proc ------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command (field 3, state, is index 0)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def group(pgid: int) -> list[int]:
    """Every live process in the process group (the server leads its own: its workers are in it)."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError):
        return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: RSS with pages shared between processes split among them, so the
    sum over a process tree counts the Python interpreter's shared pages once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return rss_kib(pid)


def tree_kib(leader: int) -> int:
    return sum(pss_kib(pid) for pid in group(leader))


def hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(leader: int) -> float:
    """CPU of the group: each live member's, plus what the leader's exited children used."""
    total = 0.0
    for pid in group(leader):
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if pid == leader:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped workers
    return total / TICKS


# --- one learner ------------------------------------------------------------------------------

@dataclass
class Learner:
    prefix: str
    port: int
    folder: Path
    server: int = 0
    start_cpu: float = 0.0
    start_rss_kib: int = 0
    peak_kib: int = 0
    wall_s: float = 0.0
    cloud_cpu: float = 0.0
    idle_tree_kib: int = 0
    idle_server_kib: int = 0
    server_hwm_kib: int = 0
    workers: int = 0
    idle_cpu_percent: float = 0.0
    executions: int = 0
    records: int = 0
    notebook_cpu: float = 0.0
    kernel_peak_kib: int = 0
    failed: str = ""
    runner: subprocess.Popen | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LOCALCLOUD_PORT": str(self.port), "LOCALCLOUD_HOME": str(self.folder / "home")}


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prepare(learner: Learner, commit: str | None, through: int) -> Path:
    """The learner's own notebooks folder: notebooks 00..through, functions/, provided/, statemachine/."""
    shutil.rmtree(learner.folder, ignore_errors=True)
    notebooks = learner.folder / "notebooks"
    (notebooks / "functions").mkdir(parents=True)
    (notebooks / "statemachine").mkdir()
    if commit:
        listed = subprocess.run(["git", "ls-tree", "--name-only", commit, "notebooks/"], cwd=REPO_ROOT,
                                check=True, capture_output=True, text=True).stdout.split()
        sources = {Path(p).name: subprocess.run(["git", "show", f"{commit}:{p}"], cwd=REPO_ROOT, check=True,
                                                capture_output=True).stdout for p in listed}
    else:
        sources = {p.name: p.read_bytes() for p in (REPO_ROOT / "notebooks").glob("*.ipynb")}
    for name, data in sources.items():
        if name.endswith(".ipynb") and name[:2].isdigit() and int(name[:2]) <= through:
            (notebooks / name).write_bytes(data)
    shutil.copytree(REPO_ROOT / "notebooks" / "provided", notebooks / "provided")
    for path in (REPO_ROOT / "statemachine").glob("*.asl.json"):
        shutil.copy(path, notebooks / "statemachine" / path.name)
    return notebooks


def start_cloud(learner: Learner) -> None:
    subprocess.run([PYTHON, "-m", "localcloud", "start", "--port", str(learner.port)], cwd=REPO_ROOT,
                   env=learner.env, check=True, capture_output=True)
    pid_file = learner.folder / "home" / str(learner.port) / "server.pid"
    learner.server = int(pid_file.read_text())
    learner.start_cpu = cpu_seconds(learner.server)
    learner.start_rss_kib = tree_kib(learner.server)


def stop_cloud(learner: Learner) -> None:
    subprocess.run([PYTHON, "-m", "localcloud", "stop", "--port", str(learner.port)], cwd=REPO_ROOT,
                   env=learner.env, check=False, capture_output=True)


def run_notebooks(learner: Learner, notebooks: Path, through: int) -> None:
    command = [PYTHON, "-m", "helpers.notebook_runner", "run", "--notebooks", str(notebooks), "--prefix",
               learner.prefix, "--through", f"{through:02d}", "--output", str(learner.folder / "out")]
    started = time.monotonic()
    with open(learner.folder / "runner.log", "wb") as log:
        proc = learner.runner = subprocess.Popen(command, cwd=REPO_ROOT, env=learner.env, stdout=log,
                                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    learner.wall_s = time.monotonic() - started
    # wait4 reports the runner with every child it waited for (papermill's kernels).
    learner.notebook_cpu = usage.ru_utime + usage.ru_stime
    learner.kernel_peak_kib = usage.ru_maxrss
    learner.cloud_cpu = cpu_seconds(learner.server)
    if proc.returncode:
        tail = (learner.folder / "runner.log").read_text(errors="replace").strip().splitlines()[-6:]
        learner.failed = "\n    ".join(tail)
    learner.done.set()


def settle(learner: Learner) -> None:
    count_pipeline(learner)
    time.sleep(SETTLE_S)
    before = cpu_seconds(learner.server)
    time.sleep(IDLE_WINDOW_S)
    learner.idle_cpu_percent = 100 * (cpu_seconds(learner.server) - before) / IDLE_WINDOW_S
    members = group(learner.server)
    learner.idle_tree_kib = sum(pss_kib(pid) for pid in members)
    learner.idle_server_kib = pss_kib(learner.server)
    learner.server_hwm_kib = hwm_kib(learner.server)
    learner.workers = len(members) - 1


def count_pipeline(learner: Learner) -> None:
    """How many executions the learner's notebooks started, and records their table holds."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from helpers.names import Names
    from localcloud.auth import credentials

    keys = credentials.require(learner.folder / "home" / str(learner.port)).as_env()
    names = Names(learner.prefix, "123456789012", REGION)

    def client(service: str):
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{learner.port}", region_name=REGION,
                            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])

    try:
        pages = client("stepfunctions").get_paginator("list_executions").paginate(
            stateMachineArn=f"arn:aws:states:{REGION}:123456789012:stateMachine:{names.state_machine}")
        learner.executions = sum(len(page["executions"]) for page in pages)
        learner.records = client("dynamodb").scan(TableName=names.table, Select="COUNT")["Count"]
    except (BotoCoreError, ClientError) as exc:  # a run that stopped early built less: the counts stay 0
        print(f"{learner.prefix}: could not count executions and records ({type(exc).__name__})", file=sys.stderr)


def sample(learners: list[Learner], stop: threading.Event) -> None:
    while not stop.is_set():
        for learner in learners:
            if learner.server and not learner.done.is_set():
                learner.peak_kib = max(learner.peak_kib, tree_kib(learner.server))
        stop.wait(SAMPLE_S)


def jupyter_idle_mb(port: int) -> float | None:
    """RSS of an idle JupyterLab server (no kernel), a few seconds after it answers."""
    jupyter = Path(PYTHON).with_name("jupyter")
    proc = subprocess.Popen([str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.token=bench",
                             f"--ServerApp.root_dir={WORK}", *(["--allow-root"] if os.getuid() == 0 else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=bench", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            return None
        time.sleep(SETTLE_S)
        return tree_kib(proc.pid) / 1024
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)


# --- the report -------------------------------------------------------------------------------

def mb(kib: int) -> str:
    return f"{kib / 1024:7.0f}"


def report(learners: list[Learner], concurrent: bool, through: int, jupyter_mb: float | None) -> str:
    total_kib = int(Path("/proc/meminfo").read_text().split()[1])
    lines = [
        f"machine: {machine.describe()}, {total_kib / 1024 / 1024:.0f} GiB RAM",
        f"{len(learners)} learners, notebooks 00..{through:02d} each, "
        + ("all at once (--concurrent)" if concurrent else "one after another"),
        "",
        ("                      ------------------- local cloud (server + Lambda workers) -------------------"
         "   -- notebooks --"),
        ("learner     wall s    CPU s  start MB  peak MB  server peak MB  idle MB  idle server MB  warm  idle CPU"
         "   CPU s  kernel MB"),
    ]
    for x in learners:
        lines.append(f"{x.prefix:<10} {x.wall_s:7.1f}  {x.cloud_cpu:7.1f}  {mb(x.start_rss_kib)}  {mb(x.peak_kib)}  "
                     f"{mb(x.server_hwm_kib):>14}  {mb(x.idle_tree_kib)}  {mb(x.idle_server_kib):>14}  "
                     f"{x.workers:4d}  {x.idle_cpu_percent:7.1f}%  {x.notebook_cpu:6.1f}  {mb(x.kernel_peak_kib):>9}")
        lines.append(f"{'':<10} the pipeline ran {x.executions} executions; the table holds {x.records} records")
        if x.failed:
            lines.append(f"  {x.prefix}: the run FAILED; last lines of {x.folder / 'runner.log'}:\n    {x.failed}")
    lines += [
        "",
        "CPU s: the local cloud's CPU seconds from its start to the end of the run (its start took "
        + ", ".join(f"{x.start_cpu:.1f}" for x in learners) + " s of it).",
        (f"start, peak, idle MB: the tree's PSS at start, at its peak (sampled every {SAMPLE_S} s) "
         f"and {SETTLE_S:.0f} s after the run, with 'warm' Lambda workers still up (they leave after 5 idle "
         "minutes); idle server MB: the server alone, what is left after that; server peak MB: the server's own "
         "peak RSS (VmHWM); "
         f"idle CPU: the idle local cloud's CPU use over {IDLE_WINDOW_S:.0f} s after that."),
        "notebooks: the runner and its kernels (one at a time): CPU seconds, and the largest process's peak RSS.",
    ]
    if jupyter_mb is not None:
        lines.append(f"an idle JupyterLab server (no kernel): {jupyter_mb:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--learners", type=int, default=2, help="how many learners (1-10, default 2)")
    parser.add_argument("--through", type=int, default=7, help="the last notebook to run (default 07)")
    parser.add_argument("--concurrent", action="store_true", help="run the learners all at once")
    parser.add_argument("--from-commit", metavar="REV", help="take the notebooks from this commit (e.g. HEAD)")
    parser.add_argument("--ports", help="comma-separated ports for the local clouds (default: free ones)")
    parser.add_argument("--jupyter", type=int, metavar="PORT", help="also measure an idle JupyterLab on PORT")
    args = parser.parse_args(argv)
    if not 1 <= args.learners <= 10 or not 0 <= args.through <= 7:
        parser.error("--learners must be 1-10 and --through 0-7")
    ports = [int(p) for p in args.ports.split(",")] if args.ports else []
    if ports and len(ports) < args.learners:
        parser.error(f"--ports lists {len(ports)} ports for {args.learners} learners")
    taken: set[int] = set()
    learners = []
    for i in range(args.learners):
        port = ports[i] if ports else free_port(taken)
        taken.add(port)
        if not port_free(port):
            parser.error(f"port {port} is in use: pick another (--ports) or leave it to the benchmark")
        # A folder per port: another benchmark running at the same time has other ports.
        learners.append(Learner(f"learner-{i + 1}", port, WORK / f"learner-{i + 1}-{port}"))
    folders = {x.prefix: prepare(x, args.from_commit, args.through) for x in learners}

    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(learners, stop), daemon=True)
    sampler.start()
    try:
        if args.concurrent:
            for x in learners:
                start_cloud(x)
            threads = [threading.Thread(target=run_notebooks, args=(x, folders[x.prefix], args.through))
                       for x in learners]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for x in learners:
                settle(x)
        else:
            for x in learners:
                start_cloud(x)
                run_notebooks(x, folders[x.prefix], args.through)
                settle(x)
                stop_cloud(x)
        jupyter_mb = jupyter_idle_mb(args.jupyter) if args.jupyter else None
    finally:
        stop.set()
        for x in learners:  # interrupted: end the runs first, or a notebook would start its local cloud again
            if x.runner is not None and x.runner.returncode is None and x.runner.poll() is None:
                x.runner.terminate()
        for x in learners:
            stop_cloud(x)
    print(report(learners, args.concurrent, args.through, jupyter_mb))
    return 1 if any(x.failed for x in learners) else 0


if __name__ == "__main__":
    sys.exit(main())
