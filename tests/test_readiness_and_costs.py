"""Notebook 00's checks and cost estimate."""

from __future__ import annotations

import pytest

from helpers import aws_errors, costs, readiness, workbook
from helpers.readiness import Check, Report


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "ready-test", port=int(localcloud.rsplit(":", 1)[1]))


def test_local_target_passes_every_check_without_creating_anything(wb, client):
    buckets_before = client("s3").list_buckets()["Buckets"]
    report = readiness.run(wb)
    assert report.ok, repr(report)
    assert [c.name for c in report] == [
        "identity", "region", "rekognition", "permission: lambda", "permission: step functions",
        "permission: s3", "permission: dynamodb", "permission: api gateway", "permission: iam"]
    assert "123456789012" not in repr(report)  # account ids stay out of notebook outputs
    assert client("s3").list_buckets()["Buckets"] == buckets_before


def test_a_region_without_rekognition_fails_with_the_fix():
    region = Check("region", "af-south-1" in readiness.REKOGNITION_REGIONS, "x")
    assert not region.ok
    assert not Report([region]).ok and repr(Report([region])) == "✗ region: x"


class _AnswersEverything:
    """A client of any service on AWS that answers every call, as a signed-in learner's would."""

    def __init__(self, service: str, calls: list[str]) -> None:
        self.service, self.calls = service, calls

    def __getattr__(self, operation: str):
        def call(**kwargs):
            self.calls.append(f"{self.service}.{operation}")
            return {"Arn": "arn:aws:sts::123456789012:assumed-role/Learner/alice", "Labels": [{"Name": "Orange"}]}
        return call


class _OnAws:
    """What readiness.run asks of a workbook, on AWS in ``region``, without the network."""

    is_local = False

    def __init__(self, region: str) -> None:
        self.region = region
        self.calls: list[str] = []

    def client(self, service: str) -> _AnswersEverything:
        return _AnswersEverything(service, self.calls)


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
def test_on_aws_a_region_with_rekognition_passes(region):
    on_aws = _OnAws(region)
    report = readiness.run(on_aws)
    assert report.ok, repr(report)
    assert str(report[1]) == f"✓ region: {region} on AWS"
    assert "sts.get_caller_identity" in on_aws.calls and "rekognition.detect_labels" in on_aws.calls


def test_on_aws_a_region_without_rekognition_fails_with_the_region_to_choose():
    report = readiness.run(_OnAws("af-south-1"))
    region = report[1]
    assert (region.name, region.ok) == ("region", False)
    assert region.detail == aws_errors.region_problem("af-south-1")
    assert region.detail.startswith("Amazon Rekognition is not offered in af-south-1: choose a region that has it")
    assert not report.ok
    assert all(check.ok for check in report if check.name != "region")  # only the region is wrong


def test_refused_call_is_reported_not_raised(wb):
    from botocore.exceptions import ClientError

    def refuse() -> str:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListFunctions")

    check = readiness._call("permission: lambda", refuse, "Ask your instructor.", "lambda:ListFunctions")
    assert not check.ok
    assert check.detail == ("Your AWS identity may not call lambda:ListFunctions (AccessDenied): ask your instructor "
                            "for the workshop's learner policy (docs/instructor.md).")
    # An error a newcomer does not meet first keeps its code and message, and the fix.
    def fail() -> str:
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "boom"}}, "ListFunctions")

    other = readiness._call("permission: lambda", fail, "Ask your instructor.", "lambda:ListFunctions")
    assert other.detail.startswith("InternalFailure:") and other.detail.endswith("Ask your instructor.")


def test_cost_scales_with_images_and_rekognition_dominates():
    ten, hundred = costs.estimate(10), costs.estimate(100)
    assert hundred.total == pytest.approx(10 * ten.total, rel=0.01)
    assert next(iter(ten.lines)) == "rekognition_image"
    assert ten.lines["rekognition_image"] == pytest.approx(0.01)
    assert 0.01 < ten.total < 0.05
    assert repr(ten).splitlines()[-1].startswith("total for 10 images")
