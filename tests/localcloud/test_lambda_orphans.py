"""No Lambda worker outlives its local cloud, and a crash leaves nothing behind (issue 9, point 5)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from localcloud import config, process
from localcloud.awslambda import runtime, workers
from tests.conftest import REGION
from tests.localcloud.conftest import wait_until
from tests.localcloud.lambdas import RETURNS_ONE, SLEEPER, deploy


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def clients(instance: process.Instance):
    credentials = getattr(instance, "credentials", None)
    keys = credentials.as_env() if credentials is not None else {}
    kwargs = {"aws_access_key_id": keys.get("AWS_ACCESS_KEY_ID"),
              "aws_secret_access_key": keys.get("AWS_SECRET_ACCESS_KEY"),
              "aws_session_token": keys.get("AWS_SESSION_TOKEN")} if keys else {}

    def make(service: str):
        return boto3.client(service, endpoint_url=instance.endpoint, region_name=REGION,
                            config=Config(retries={"max_attempts": 1}), **kwargs)

    return make("lambda"), make("iam")


def _records(port: int) -> list[dict]:
    folder = config.instance_dir(port) / "lambda" / workers.WORKERS
    return [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []


def worker_pids(port: int) -> list[int]:
    """The execution environments' processes (the template they fork from has no env_id)."""
    return [doc["pid"] for doc in _records(port) if doc["env_id"]]


def template_pids(port: int) -> list[int]:
    return [doc["pid"] for doc in _records(port) if not doc["env_id"]]


@pytest.fixture
def instance(private_localcloud):
    """A local cloud of this test's own, which the test may kill."""
    return private_localcloud


def test_an_in_flight_worker_dies_with_a_killed_server(instance):
    lam, iam = clients(instance)
    name = deploy(lam, iam, SLEEPER, Timeout=120)
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"sleep": 60}))
    assert wait_until(lambda: worker_pids(instance.port), 20), "no worker started"
    [pid] = worker_pids(instance.port)
    templates = template_pids(instance.port)
    time.sleep(1.0)  # inside its 60 s sleep, with no timeout of its own for a minute
    os.kill(instance.pid, signal.SIGKILL)
    assert wait_until(lambda: gone(pid), 3.0), f"worker {pid} outlived its server"
    assert wait_until(lambda: all(gone(t) for t in templates), 3.0), f"template {templates} outlived its server"
    # The crash left its files; the next start or stop removes them.
    cache = config.instance_dir(instance.port) / "lambda"
    assert (cache / "code").is_dir()
    # "The next start or stop" comes after the crash has finished: on a loaded machine a killed
    # server with many threads can still be exiting when its worker is already gone.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(instance.pid, 0)  # the test process started it: reap the zombie
    runtime.reap_orphans(config.instance_dir(instance.port))
    assert not cache.exists(), [(str(p.relative_to(cache)), p.read_text() if p.suffix == ".json" else "")
                                for p in cache.rglob("*") if "code" not in p.parts]


def test_stop_removes_the_unpacked_code_and_scratch_space(instance):
    lam, iam = clients(instance)
    name = deploy(lam, iam, RETURNS_ONE)
    assert "FunctionError" not in lam.invoke(FunctionName=name)
    cache = config.instance_dir(instance.port) / "lambda"
    assert any((cache / "code").iterdir()) and worker_pids(instance.port)
    [pid] = worker_pids(instance.port)
    templates = template_pids(instance.port)
    assert process.stop(instance.port)
    assert wait_until(lambda: gone(pid) and all(gone(t) for t in templates), 3.0)
    assert not cache.exists()


def _record(cache: Path, pid: int, *, server_pid: int, server_start: int | None, start: int | None) -> None:
    folder = cache / workers.WORKERS
    folder.mkdir(parents=True, exist_ok=True)
    env_id = uuid.uuid4().hex
    (cache / "envs").mkdir(exist_ok=True)
    (cache / "envs" / f"{env_id}.log").write_text("output")
    (cache / "envs" / f"{env_id}.tmp").mkdir()
    (folder / f"{pid}.json").write_text(json.dumps({"pid": pid, "start_time": start, "env_id": env_id,
                                                    "server_pid": server_pid, "server_start_time": server_start}))


def test_reaping_ends_only_the_workers_of_a_dead_server(tmp_path):
    cache = tmp_path / "lambda"
    (cache / "code" / "abc").mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    # Looks like one of our workers: bootstrap.py and this instance's folder on its command line.
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(workers.BOOTSTRAP),
                               json.dumps({"task_root": str(cache / "code" / "abc")})])
    stranger = subprocess.Popen(["sleep", "60"])  # a reused pid: not ours whatever the record says
    impostor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(workers.BOOTSTRAP),
                                 str(cache)])  # ours by its command line, but started after the record
    # A template, or an environment forked from one: template.py and this instance's folder.
    forked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(workers.TEMPLATE), "3",
                               str(cache)])
    try:
        assert wait_until(lambda: workers.start_time(orphan.pid) is not None, 5)
        assert wait_until(lambda: workers.start_time(forked.pid) is not None, 5)
        _record(cache, orphan.pid, server_pid=dead.pid, server_start=None, start=workers.start_time(orphan.pid))
        _record(cache, forked.pid, server_pid=dead.pid, server_start=None, start=workers.start_time(forked.pid))
        _record(cache, stranger.pid, server_pid=dead.pid, server_start=None, start=workers.start_time(stranger.pid))
        _record(cache, impostor.pid, server_pid=dead.pid, server_start=None, start=12345)
        assert sorted(runtime.reap_orphans(tmp_path)) == sorted([orphan.pid, forked.pid])
        assert wait_until(lambda: gone(orphan.pid) and gone(forked.pid), 3)
        assert stranger.poll() is None and impostor.poll() is None
        assert not cache.exists()  # no server, no worker left: the code and scratch files go
    finally:
        for child in (orphan, stranger, impostor, forked):
            child.kill()
            child.wait()


def test_reaping_leaves_a_running_servers_workers_alone(tmp_path):
    cache = tmp_path / "lambda"
    (cache / "code").mkdir(parents=True)
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(workers.BOOTSTRAP), str(cache)])
    try:
        assert wait_until(lambda: workers.start_time(worker.pid) is not None, 5)
        # This test process plays the live server that owns the worker.
        _record(cache, worker.pid, server_pid=os.getpid(), server_start=workers.start_time(os.getpid()),
                start=workers.start_time(worker.pid))
        (cache / workers.SERVER_RECORD).write_text(json.dumps({"pid": os.getpid(),
                                                               "start_time": workers.start_time(os.getpid())}))
        assert runtime.reap_orphans(tmp_path) == []
        assert worker.poll() is None and (cache / "code").is_dir()
    finally:
        worker.kill()
        worker.wait()
