"""Fixtures shared by every test: a local cloud of the suite's own, and clients for it."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from helpers import notebook_runner, statemachine, storage, workbook
from localcloud import process
from tests.support import free_port

REGION = "us-east-1"
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.fixture(scope="session")
def localcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint of a local cloud started for this test session, on its own port and state folder."""
    os.environ["LOCALCLOUD_HOME"] = str(tmp_path_factory.mktemp("localcloud"))
    # Short enough for the reaping test to watch an idle environment go.
    os.environ.setdefault("LOCALCLOUD_LAMBDA_IDLE_SECONDS", "10")
    port = free_port()
    instance = process.start(port)
    # A session fixture cannot take ``monkeypatch``; its context restores the same way.
    with pytest.MonkeyPatch.context() as env:
        # The instance's own key, as helpers.target.use("local") sets it: the local cloud answers
        # nothing unsigned.
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        for key, value in {**instance.credentials.as_env(), "AWS_ENDPOINT_URL": instance.endpoint,
                           "AWS_DEFAULT_REGION": REGION}.items():
            env.setenv(key, value)
        try:
            yield instance.endpoint
        finally:
            print("\n--- local cloud log (last 40 lines) ---\n" + process.tail(port, 40))
            process.stop(port)


@pytest.fixture
def private_localcloud(localcloud: str) -> Iterator[process.Instance]:
    """A local cloud of this test's own (in the session's state folder), which it may kill or measure."""
    port = free_port()
    instance = process.start(port)
    yield instance
    process.stop(port)  # also ends any worker a killed server left behind


@pytest.fixture(scope="session")
def client(localcloud: str):
    """client("s3") -> a boto3 client bound to the test local cloud."""
    cfg = Config(retries={"max_attempts": 1}, read_timeout=120)

    def make(service: str, **kwargs):
        return boto3.client(service, endpoint_url=localcloud, region_name=REGION, config=cfg, **kwargs)

    return make


def deploy_pipeline(endpoint: str, prefix: str, notebooks: list[str], output_dir) -> workbook.Workbook:
    """Run the workbook's notebooks (e.g. 00-05) for ``prefix`` on the test local cloud; its session.

    The tests then use the pipeline as the notebooks built it: their own Lambda code, state
    machine and API. The notebooks' kernels find the local cloud by LOCALCLOUD_PORT.
    """
    port = endpoint.rsplit(":", 1)[1]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOCALCLOUD_PORT", port)
        notebook_runner.run(notebooks, {"prefix": prefix}, output_dir=output_dir, stream=io.StringIO())
    return workbook.start("local", REGION, prefix, port=int(port))


# A stand-in for notebook 04's pipeline (one Pass state): an execution of it proves a receiver
# started one, with the input docs/pipeline.md names, without running the real workflow.
STAND_IN = {"Comment": "stands in for notebook 04's pipeline", "StartAt": "Hold",
            "States": {"Hold": {"Type": "Pass", "End": True}}}


def stand_in_pipeline(endpoint: str, prefix: str) -> workbook.Workbook:
    """The bucket, the table and the stand-in state machine of ``prefix``, for the receivers' tests."""
    wb = workbook.start("local", REGION, prefix, port=int(endpoint.rsplit(":", 1)[1]))
    storage.ensure_bucket(wb)
    storage.ensure_table(wb)
    statemachine.ensure(wb, STAND_IN)
    return wb
