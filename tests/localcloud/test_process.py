"""Starting, finding, reporting and stopping the local cloud (issue point 1)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from helpers import target
from localcloud import config, process
from localcloud.auth import credentials
from tests.conftest import CREDENTIAL_VARIABLES
from tests.localcloud.lambdas import RETURNS_ONE, SLEEPER, deploy
from tests.support import free_port, localcloud_cli, unique

LOCAL_KEY = credentials.Credentials("LKIAEXAMPLEEXAMPLE00", "local-secret")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours still answers kill(0); it no longer runs.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port``, read from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.fixture
def own_instance(localcloud):
    """A second local cloud on its own port, for tests that stop it."""
    port = free_port()
    result = localcloud_cli("start", "--port", str(port))
    assert result.returncode == 0, result.stderr
    yield port
    process.stop(port)


def test_start_prints_endpoint_and_reuses_a_healthy_instance(own_instance):
    first = process.find(own_instance)
    again = localcloud_cli("start", "--port", str(own_instance))
    assert again.returncode == 0
    assert f"local cloud running at http://127.0.0.1:{own_instance} (pid {first.pid})" in again.stdout
    assert f'eval "$(python -m localcloud env --port {own_instance})"' in again.stdout
    assert process.pid_file(own_instance).read_text().strip() == str(first.pid)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_listens_on_loopback_only(own_instance):
    assert listening_addresses(own_instance) == {"127.0.0.1"}


def test_port_held_by_another_program_is_a_clear_error(localcloud):
    with socket.socket() as stranger:
        stranger.bind((config.HOST, 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        threading.Thread(target=lambda: stranger.accept()[0].close(), daemon=True).start()
        result = localcloud_cli("start", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is held by another program that is not the local cloud" in result.stderr


def test_stop_ends_its_process_and_lambda_workers(own_instance):
    endpoint = config.endpoint_url(own_instance)
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1",
                  **process.find(own_instance).credentials.as_client_kwargs())
    lam, iam = boto3.client("lambda", **kwargs), boto3.client("iam", **kwargs)
    name = deploy(lam, iam, SLEEPER)
    worker = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    server = process.find(own_instance).pid
    assert alive(worker) and alive(server)
    result = localcloud_cli("stop", "--port", str(own_instance))
    assert f"stopped the local cloud on port {own_instance}" in result.stdout
    deadline = time.monotonic() + 10
    while (alive(worker) or alive(server)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(server) and not alive(worker)
    assert not process.pid_file(own_instance).exists()


def test_stop_never_signals_a_process_it_did_not_start(localcloud):
    port = free_port()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        process.pid_file(port).parent.mkdir(parents=True, exist_ok=True)
        process.pid_file(port).write_text(f"{stranger.pid}\n")  # a stale file naming a reused pid
        result = localcloud_cli("stop", "--port", str(port))
        assert f"no local cloud of ours on port {port}" in result.stdout
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_status_reports_what_is_deployed(localcloud, client):
    named = unique("status")
    client("s3").create_bucket(Bucket=named)
    client("dynamodb").create_table(
        TableName=named, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    name = deploy(client("lambda"), client("iam"), RETURNS_ONE, name=named)
    api = client("apigateway").create_rest_api(name=named)
    port = localcloud.rsplit(":", 1)[1]
    result = localcloud_cli("status", "--port", port)
    assert result.returncode == 0, result.stderr
    assert f"local cloud of {process.owner()['user']} running at {localcloud}" in result.stdout
    for expected in (named, name, api["id"], "DetectLabels answers from: model", "not Rekognition's",
                     "IAM: enforce, "):
        assert expected in result.stdout
    report = json.loads(localcloud_cli("status", "--port", port, "--json").stdout)
    assert report["iam"]["mode"] == "enforce"
    assert named in report["buckets"] and named in report["tables"]
    assert name in [f["name"] for f in report["functions"]]


def test_status_of_a_stopped_instance_says_how_to_start_it(localcloud):
    port = str(free_port())
    result = localcloud_cli("status", "--port", port)
    assert result.returncode == 3
    assert f"not running on port {port}" in result.stdout and "python -m localcloud start" in result.stdout


def test_logs_show_the_instance_log(localcloud):
    result = localcloud_cli("logs", "--port", localcloud.rsplit(":", 1)[1], "-n", "500")
    assert f"local cloud listening on {localcloud}" in result.stdout


def test_target_local_points_boto3_at_the_running_local_cloud(localcloud, monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", *CREDENTIAL_VARIABLES):
        if key in os.environ:
            monkeypatch.setenv(key, os.environ[key])
        else:
            monkeypatch.delenv(key, raising=False)
    chosen = target.use("local", "eu-west-1", port=int(localcloud.rsplit(":", 1)[1]))
    assert chosen.endpoint_url == localcloud and chosen.is_local
    assert os.environ["AWS_ENDPOINT_URL"] == localcloud and os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert boto3.client("sts").get_caller_identity()["Account"] == config.ACCOUNT_ID


def test_target_aws_drops_the_local_endpoint_and_the_local_key(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "before")  # recorded, so teardown restores the original
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    for key, value in LOCAL_KEY.as_env().items():
        monkeypatch.setenv(key, value)
    chosen = target.use("aws", "eu-central-1", profile="sandbox")
    assert chosen.endpoint_url is None
    assert "AWS_ENDPOINT_URL" not in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ
    assert os.environ["AWS_PROFILE"] == "sandbox"


def test_unknown_target_is_refused():
    with pytest.raises(target.TargetError, match="target must be one of local, aws; got 'mars'"):
        target.use("mars")


def test_target_aws_keeps_the_learners_own_profile_and_credentials(monkeypatch):
    for key, value in LOCAL_KEY.as_env().items():
        monkeypatch.setenv(key, value)  # recorded, so teardown restores the suite's credentials
    monkeypatch.setenv("AWS_PROFILE", "workshop")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    chosen = target.use("aws", "eu-west-1")
    assert chosen.endpoint_url is None
    assert os.environ["AWS_PROFILE"] == "workshop" and os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALKEY"
