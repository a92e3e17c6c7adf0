"""The classroom view: every learner side by side, how far each got, and clearing them all (issue 10, point 6)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import boto3
import pytest

from helpers import classroom
from helpers.classroom import DONE, NONE, PART, Classroom, Learner, Resource
from helpers.names import Names
from tests.conftest import REGION
from tests.support import REPO

ACCOUNT = "123456789012"


def learner(prefix: str, through: str, *, extra: tuple[tuple[str, str], ...] = (), results: int = 0) -> Learner:
    """A learner holding every resource of the notebooks up to ``through``, plus ``extra``."""
    names = Names(prefix, ACCOUNT, REGION)
    held = [item for number, items in names.inventory_by_notebook().items() if number <= through for item in items]
    resources = [Resource(kind, name.split(" (")[0], f"arn:{kind}:{name}") for kind, name in (*held, *extra)]
    return Learner(prefix, resources, results=results, samples=5)


def room(*learners: Learner, mask: bool = False, untagged=None) -> Classroom:
    return Classroom(where="the local cloud on port 4600", region=REGION, account_id=ACCOUNT,
                     learners={x.prefix: x for x in learners}, untagged=untagged or {}, mask=mask)


# --- without a cloud --------------------------------------------------------------------------


def test_inventory_by_notebook_is_the_inventory_in_build_order():
    names = Names("alice", ACCOUNT, REGION)
    grouped = names.inventory_by_notebook()
    assert list(grouped) == ["01", "02", "03", "04", "05", "06", "07"]
    assert [item for items in grouped.values() for item in items] == names.inventory()
    assert grouped["06"] == []  # 06 builds nothing: its evidence is the results


def test_a_notebook_is_completed_when_all_its_resources_exist_and_partial_when_some_do():
    names = Names("bob", ACCOUNT, REGION)
    half_of_02 = tuple(names.inventory_by_notebook()["02"][:2])
    marks = classroom.progress(learner("bob", "01", extra=half_of_02), names)
    assert marks == {"01": DONE, "02": PART, "03": NONE, "04": NONE, "05": NONE, "06": NONE, "07": NONE}


def test_06_is_completed_when_every_sample_photo_has_a_result():
    names = Names("alice", ACCOUNT, REGION)
    assert classroom.progress(learner("alice", "05", results=4), names)["06"] == NONE
    assert classroom.progress(learner("alice", "05", results=5), names)["06"] == DONE


def test_the_view_shows_learners_side_by_side_with_the_next_notebook_each():
    text = classroom.render(room(learner("alice", "03"), learner("bob", "01")))
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith(("alice ", "bob "))}
    assert rows["alice"][:7] == [DONE, DONE, DONE, NONE, NONE, NONE, NONE]
    assert rows["bob"][:7] == [DONE, NONE, NONE, NONE, NONE, NONE, NONE]
    assert rows["alice"][7:] == ["12", "04_state_machine"] and rows["bob"][7:] == ["4", "02_label_detector"]
    assert "Classroom: the local cloud on port 4600, region us-east-1: 2 learners" in text
    assert "  DynamoDB table   alice-image-results" in text
    assert "bob: 4 resources, 0 of 5 sample photos with a result" in text


def test_the_view_masks_the_account_on_aws_and_sets_apart_names_without_the_workbooks_tag():
    untagged = {"prod": [Resource("DynamoDB table", "prod-image-results", "arn:t")]}
    text = classroom.render(room(learner("alice", "07", results=5), mask=True, untagged=untagged))
    assert ACCOUNT not in text and "alice-images-<account>-us-east-1" in text
    assert "all done" in text
    assert "without its tag (not a learner's; never cleaned): prod\n  DynamoDB table   prod-image-results" in text


def test_what_is_left_after_a_clean_is_listed_or_nothing_is():
    assert classroom.left_after(room()).startswith("✓ nothing left: no learner's resources in the local cloud")
    left = classroom.left_after(room(Learner("bob", [Resource("S3 bucket", "bob-images-x", "arn:s3")])))
    assert left.splitlines()[:2] == ["✗ still there in the local cloud on port 4600, region us-east-1:",
                                     "  bob: S3 bucket bob-images-x"]


@pytest.mark.parametrize(("answer", "confirmed"), [("yes", True), (" YES\n", True), ("no", False), ("", False)])
def test_clean_asks_before_deleting(answer, confirmed):
    assert classroom._confirm(room(learner("alice", "01")), lambda question: answer) is confirmed


def test_clean_without_an_answer_deletes_nothing(monkeypatch, capsys):
    def no_answer(question):
        raise EOFError

    monkeypatch.setattr(classroom, "connect", lambda *args: object())
    monkeypatch.setattr(classroom, "scan", lambda session: room(learner("alice", "01")))
    monkeypatch.setattr(classroom, "clean", lambda *args: pytest.fail("cleaned without a yes"))
    assert classroom.main(["clean"], ask=no_answer) == 1
    assert "nothing deleted (answer yes, or pass --yes: make classroom-clean YES=1)" in capsys.readouterr().out


def test_no_local_cloud_running_means_nothing_to_see(monkeypatch, capsys):
    monkeypatch.setattr(classroom.process, "find", lambda port: None)
    assert classroom.main(["status", "--port", "4699"]) == 0
    assert capsys.readouterr().out.startswith("no local cloud of yours running on port 4699")


# --- on a local cloud of its own: two learners, one further along -----------------------------


def _run(args: list[str], port: int, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALCLOUD_PORT": str(port)}
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=150, **kwargs)


def _rows(status: str) -> dict[str, list[str]]:
    return {m[1]: m[2].split() for m in re.finditer(r"^(alice|bob) +(.*)$", status, re.MULTILINE)}


def test_two_learners_side_by_side_then_classroom_clean_leaves_nothing(private_localcloud, tmp_path):
    port = private_localcloud.port
    for prefix, through in (("alice", "03"), ("bob", "01")):
        ran = _run(["helpers.notebook_runner", "run", "--prefix", prefix, "--through", through,
                    "--output", str(tmp_path / prefix)], port)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    # Someone else's table, named like the workbook's but not tagged by it: never touched.
    keys = private_localcloud.credentials.as_env()
    ddb = boto3.client("dynamodb", endpoint_url=private_localcloud.endpoint, region_name=REGION,
                       aws_access_key_id=keys["AWS_ACCESS_KEY_ID"], aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])
    ddb.create_table(TableName="prod-image-results", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])

    status = _run(["helpers.classroom", "status", "--port", str(port)], port)
    assert status.returncode == 0, status.stderr
    print(status.stdout)
    rows = _rows(status.stdout)
    assert rows["alice"] == [DONE, DONE, DONE, NONE, NONE, NONE, NONE, "12", "04_state_machine"], status.stdout
    assert rows["bob"] == [DONE, NONE, NONE, NONE, NONE, NONE, NONE, "4", "02_label_detector"], status.stdout
    assert "bob-images-123456789012-us-east-1" in status.stdout
    assert "without its tag (not a learner's; never cleaned): prod" in status.stdout

    refused = _run(["helpers.classroom", "clean", "--port", str(port)], port, input="no\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stdout
    assert _rows(_run(["helpers.classroom", "status", "--port", str(port)], port).stdout) == rows

    cleaned = _run(["helpers.classroom", "clean", "--port", str(port), "--yes"], port)
    print(cleaned.stdout)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert "✓ deleted S3 bucket alice-images-123456789012-us-east-1" in cleaned.stdout
    assert cleaned.stdout.rstrip().splitlines()[-1] == (
        f"✓ nothing left: no learner's resources in the local cloud on port {port}, region us-east-1 "
        "(named like the workbook's but without its tag, left alone: prod)")
    after = _run(["helpers.classroom", "status", "--port", str(port)], port).stdout
    assert f"Classroom: the local cloud on port {port}, region us-east-1: 0 learners" in after
    assert ddb.describe_table(TableName="prod-image-results")["Table"]["TableStatus"] == "ACTIVE"
