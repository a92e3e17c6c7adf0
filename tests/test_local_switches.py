"""helpers.local: the local cloud's switches as a notebook uses them, and their refusal on AWS."""

from __future__ import annotations

import pytest

from helpers import local, workbook
from helpers.names import Names
from helpers.target import Target
from tests.support import unique


@pytest.fixture
def wb(localcloud: str) -> workbook.Workbook:
    return workbook.start("local", "us-east-1", unique("switch")[:20], port=int(localcloud.rsplit(":", 1)[1]))


def on_aws() -> workbook.Workbook:
    # No call reaches AWS: each switch refuses before it makes one.
    target = Target(name="aws", region="eu-west-1", endpoint_url=None)
    return workbook.Workbook(target=target, names=Names(prefix="alice", region="eu-west-1", account_id="000000000000"))


@pytest.mark.parametrize("switch", [
    lambda wb: local.notes(wb),
    lambda wb: local.inject_fault(wb, service="s3", operation="PutObject", error="SlowDown"),
    lambda wb: local.fault_rules(wb),
    lambda wb: local.clear_faults(wb),
    lambda wb: local.expire(wb, days=1),
], ids=["notes", "inject_fault", "fault_rules", "clear_faults", "expire"])
def test_each_switch_refuses_a_workbook_on_aws_and_says_what_to_do_there(switch) -> None:
    with pytest.raises(local.NotLocal) as refused:
        switch(on_aws())
    message = str(refused.value)
    assert "'aws'" in message and "AWS" in message.split(":", 1)[1]


def test_notes_say_what_answers_detect_labels(wb: workbook.Workbook) -> None:
    notes = local.notes(wb)
    assert notes and any("DetectLabels" in note for note in notes)


def test_a_fault_fails_the_next_call_then_clears(wb: workbook.Workbook) -> None:
    bucket = wb.names.bucket
    s3 = wb.client("s3")
    s3.create_bucket(Bucket=bucket)
    local.clear_faults(wb)
    # AccessDenied, not a throttle: boto3 would retry a throttle and the second attempt succeed.
    rule = local.inject_fault(wb, service="s3", operation="PutObject", error="AccessDenied", match=f"{bucket}/*")
    with pytest.raises(s3.exceptions.ClientError) as failed:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert failed.value.response["Error"]["Code"] == "AccessDenied"
    assert [r["id"] for r in local.fault_rules(wb)] == [rule["id"]]
    assert local.clear_faults(wb) == 1
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # the fault was used up, and the rules are gone
    assert local.fault_rules(wb) == []
