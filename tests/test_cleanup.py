"""Cleanup removes one prefix's resources, every kind, idempotently, and never another prefix's."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from helpers import cleanup, iam, lambdas, storage, workbook
from helpers.names import FUNCTIONS, LAYERS
from tests.localcloud.lambdas import RETURNS_EVENT

# "cleanup-a" is a string prefix of "cleanup-a-2"'s names: a plain startswith would take both.
MINE, THEIRS, NOBODY = "cleanup-a", "cleanup-a-2", "cleanup-none"

WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}


def _start(localcloud: str, prefix: str) -> workbook.Workbook:
    return workbook.start("local", "us-east-1", prefix, port=int(localcloud.rsplit(":", 1)[1]))


def _layer_zip(prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/marker.py", f"PREFIX = {prefix!r}\n")
    return buffer.getvalue()


def build(wb: workbook.Workbook, tmp_path) -> None:
    """Everything the notebooks create, in small: 18 resources, with a running execution, object versions
    and a layer with two versions (a stand-in for the Pillow layer)."""
    for key in FUNCTIONS:
        source = tmp_path / f"{wb.names.prefix}-{key}.py"
        source.write_text(RETURNS_EVENT)
        lambdas.deploy(wb, key, source=source)  # the role, the log group and the function
    storage.ensure_table(wb)
    storage.ensure_bucket(wb)
    s3 = wb.client("s3")
    s3.put_bucket_versioning(Bucket=wb.names.bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=wb.names.bucket, Key="images/a.png", Body=body)
    s3.delete_object(Bucket=wb.names.bucket, Key="images/a.png")  # a delete marker too
    sfn = wb.client("stepfunctions")
    arn = sfn.create_state_machine(name=wb.names.state_machine, definition=json.dumps(WAITING),
                                   roleArn=iam.ensure_role(wb, "state_machine"),
                                   tags=wb.names.tag_list("key", "value"))["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, name="still-running")
    wb.client("apigateway").create_rest_api(name=wb.names.api, tags=wb.tags)
    for version in ("1", "2"):
        wb.client("lambda").publish_layer_version(LayerName=wb.names.layer("pillow"),
                                                  Content={"ZipFile": _layer_zip(wb.names.prefix + version)})


def expected(wb: workbook.Workbook) -> list[str]:
    n = wb.names
    return sorted([
        f"REST API {n.api}", f"state machine {n.state_machine}",
        *(f"Lambda function {n.function(k)}" for k in FUNCTIONS),
        *(f"Lambda layer {n.layer(k)}" for k in LAYERS),
        *(f"log group {n.log_group(k)}" for k in FUNCTIONS),
        *(f"IAM role {n.role(k)}" for k in (*FUNCTIONS, "state_machine")),
        f"DynamoDB table {n.table}", f"S3 bucket {n.bucket}",
    ])


@pytest.fixture(scope="module")
def two_prefixes(localcloud, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cleanup")
    theirs = _start(localcloud, THEIRS)
    build(theirs, tmp)
    mine = _start(localcloud, MINE)
    build(mine, tmp)
    yield mine, theirs
    cleanup.delete_everything(theirs)


def test_leftovers_lists_every_resource_of_this_prefix_only(two_prefixes):
    mine, theirs = two_prefixes
    found = cleanup.leftovers(mine)
    assert sorted(found) == expected(mine)
    assert found[:2] == [f"REST API {mine.names.api}", f"state machine {mine.names.state_machine}"]
    assert not any(THEIRS in item for item in found)
    assert sorted(cleanup.leftovers(theirs)) == expected(theirs)


def test_leftovers_finds_a_tagged_resource_with_another_name(two_prefixes):
    mine, _ = two_prefixes
    logs = mine.client("logs")
    logs.create_log_group(logGroupName="/custom/renamed", tags=mine.tags)
    try:
        assert [item for item in cleanup.leftovers(mine) if item.startswith("tagged ")] == [
            "tagged arn:aws:logs:us-east-1:123456789012:log-group:/custom/renamed"]
    finally:
        logs.delete_log_group(logGroupName="/custom/renamed")


def test_leftovers_reports_an_untagged_name_with_the_prefix_but_not_another_prefixs(two_prefixes):
    mine, _ = two_prefixes
    logs = mine.client("logs")
    logs.create_log_group(logGroupName=f"/aws/lambda/{MINE}-experiment")
    logs.create_log_group(logGroupName=f"/aws/lambda/{THEIRS}-experiment", tags={"workbook-prefix": THEIRS})
    try:
        found = cleanup.leftovers(mine)
        assert f"log group /aws/lambda/{MINE}-experiment" in found
        assert not any(THEIRS in item for item in found)
    finally:
        logs.delete_log_group(logGroupName=f"/aws/lambda/{MINE}-experiment")
        logs.delete_log_group(logGroupName=f"/aws/lambda/{THEIRS}-experiment")


def test_delete_everything_removes_this_prefix_and_leaves_the_other_intact(two_prefixes):
    mine, theirs = two_prefixes
    report = cleanup.delete_everything(mine)
    assert report.ok, report
    assert sorted(f"{step.kind} {step.name}".split(" (")[0] for step in report.deleted) == expected(mine)
    details = {step.kind: step.detail for step in report.deleted}
    assert details["state machine"] == "1 running execution stopped first"
    assert details["S3 bucket"] == "emptied first: 3 object versions"
    assert details["Lambda layer"] == "2 versions"
    assert cleanup.leftovers(mine) == []
    assert repr(cleanup.leftovers(mine)) == f"nothing found for prefix {MINE!r}"

    # The other learner's resources are all there and still work.
    assert sorted(cleanup.leftovers(theirs)) == expected(theirs)
    assert lambdas.invoke(theirs, "result_store", {"x": 1}) == {"x": 1}
    running = theirs.client("stepfunctions").list_executions(
        stateMachineArn=theirs.names.state_machine_arn, statusFilter="RUNNING")["executions"]
    assert [e["name"] for e in running] == ["still-running"]
    versions = theirs.client("s3").list_object_versions(Bucket=theirs.names.bucket)
    assert len(versions["Versions"]) == 2
    layer_versions = theirs.client("lambda").list_layer_versions(LayerName=theirs.names.layer("pillow"))
    assert len(layer_versions["LayerVersions"]) == 2


def test_second_run_has_nothing_to_delete(two_prefixes):
    mine, _ = two_prefixes
    cleanup.delete_everything(mine)
    again = cleanup.delete_everything(mine)
    assert again.ok and again.deleted == []
    assert repr(again) == f"nothing to delete for prefix {MINE!r}"


def test_works_when_nothing_was_ever_created(localcloud):
    wb = _start(localcloud, NOBODY)
    assert cleanup.leftovers(wb) == []
    report = cleanup.delete_everything(wb)
    assert report.ok and report.deleted == []


def test_a_partial_build_is_cleaned_too(localcloud, tmp_path):
    wb = _start(localcloud, "cleanup-half")
    source = tmp_path / "image_uploader.py"
    source.write_text(RETURNS_EVENT)
    storage.ensure_bucket(wb)
    lambdas.deploy(wb, "image_uploader", source=source)  # notebook 01 only
    assert sorted(cleanup.leftovers(wb)) == sorted([
        f"S3 bucket {wb.names.bucket}", "IAM role cleanup-half-image-uploader-role",
        "Lambda function cleanup-half-image-uploader", "log group /aws/lambda/cleanup-half-image-uploader"])
    report = cleanup.delete_everything(wb)
    assert [step.kind for step in report.deleted] == ["Lambda function", "log group", "IAM role", "S3 bucket"]
    assert cleanup.leftovers(wb) == []


def test_a_failed_step_is_reported_and_the_others_still_run(localcloud, monkeypatch):
    wb = _start(localcloud, "cleanup-fail")
    storage.ensure_table(wb)
    storage.ensure_bucket(wb)

    def broken(_wb):
        raise RuntimeError("simulated outage")

    monkeypatch.setattr(cleanup.storage, "delete_table", broken)
    report = cleanup.delete_everything(wb)
    assert not report.ok
    assert [str(step) for step in report.failed] == [
        "DynamoDB table cleanup-fail-image-results (RuntimeError: simulated outage)"]
    assert [step.kind for step in report.deleted] == ["S3 bucket"]
    assert "✗ could not delete DynamoDB table" in repr(report)
    monkeypatch.undo()
    assert cleanup.leftovers(wb) == ["DynamoDB table cleanup-fail-image-results"]
    cleanup.delete_everything(wb)
    assert cleanup.leftovers(wb) == []


def test_account_id_is_masked_in_printouts_on_aws():
    report = cleanup.Report(prefix="alice", deleted=[cleanup.Step("S3 bucket", "alice-images-999999999999-us-east-1")],
                            account_id="999999999999")
    assert repr(report) == "✓ deleted S3 bucket alice-images-<account>-us-east-1"
    found = cleanup.Leftovers(["S3 bucket alice-images-999999999999-us-east-1"])
    found.account_id = "999999999999"
    assert repr(found) == "S3 bucket alice-images-<account>-us-east-1"


def test_every_rest_api_of_the_name_goes_and_random_ids_are_not_printed(localcloud):
    wb = _start(localcloud, "cleanup-twice")
    ids = [wb.client("apigateway").create_rest_api(name=wb.names.api, tags=wb.tags)["id"] for _ in range(2)]
    report = cleanup.delete_everything(wb)
    assert repr(report) == "✓ deleted REST API cleanup-twice-image-api (2 APIs of that name)"
    assert not any(api_id in repr(report) for api_id in ids)
    assert cleanup.leftovers(wb) == []
