"""The image pipeline's state machine: the committed definition, its helper, and real executions.

The executions run on the test local cloud against small stand-in Lambdas that follow the
contract in docs/pipeline.md just enough (the real ones are written by notebooks 01-03).
The label-detector stand-in chooses its behaviour from the image id, so each test picks
its case with the id it starts: ``ok-...`` succeeds, ``broken-...`` raises a non-transient
error, ``throttled-...`` raises ThrottlingException on its first attempt only (an S3 marker
object remembers the attempt), ``slow-...`` takes 1.5 s.
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from helpers import iam, lambdas, statemachine, statemachine_view, storage, workbook

PREFIX = "sm-test"
STATE_MACHINE_TASKS = ("StoreImage", "DetectLabels", "StoreResult", "RecordFailure")
TRANSIENT = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
             "Lambda.TooManyRequestsException", "ThrottlingException",
             "ProvisionedThroughputExceededException", "InternalServerError"}

UPLOADER = '''
import os

def handler(event, context):
    # Stand-in: no S3 copy; answers what the contract says the image-uploader answers.
    image_id = event["id"]
    return {"id": image_id, "bucket": os.environ["BUCKET_NAME"], "key": f"images/{image_id}.png",
            "content_type": event["content_type"], "size": 3}
'''

DETECTOR = '''
import time

import boto3

class InvalidImageFormatException(Exception):
    pass

class ThrottlingException(Exception):
    pass

def handler(event, context):
    key = event["key"]
    if key.startswith("images/broken-"):
        raise InvalidImageFormatException("Request has invalid image format")
    if key.startswith("images/slow-"):
        time.sleep(1.5)
    if key.startswith("images/throttled-"):
        s3 = boto3.client("s3")
        marker = "attempts/" + key.split("/", 1)[1]
        try:
            s3.head_object(Bucket=event["bucket"], Key=marker)
        except s3.exceptions.ClientError:
            s3.put_object(Bucket=event["bucket"], Key=marker, Body=b"1")
            raise ThrottlingException("Rate exceeded")
    return {"labels": [{"name": "Cat", "confidence": 98.1, "parents": ["Animal"], "instances": []}],
            "model_version": "3.0", "analysis": {"downscaled": False}}
'''

STORE = '''
import os
from decimal import Decimal

import boto3

def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    status = "FAILED" if "error" in event else "SUCCEEDED"
    item = {"status": status}
    if status == "FAILED":
        item["error"] = event["error"]
    else:
        item["image"] = event["image"]
        item["labels"] = [dict(label, confidence=Decimal(str(label["confidence"]))) for label in event["labels"]]
    # UpdateItem, as the real result-store: its role may not PutItem (IAM is enforced locally).
    names = {f"#{k}": k for k in item}
    table.update_item(Key={"id": event["id"]}, UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in item),
                      ExpressionAttributeNames=names, ExpressionAttributeValues={f":{k}": v for k, v in item.items()})
    return {"id": event["id"], "status": status}
'''


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", PREFIX, port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def pipeline(wb, tmp_path_factory):
    """The bucket, the table, the three stand-in functions and the committed state machine."""
    folder = tmp_path_factory.mktemp("standins")
    bucket, table = storage.ensure_bucket(wb), storage.ensure_table(wb)
    for key, source, env in (("image_uploader", UPLOADER, {"BUCKET_NAME": bucket}),
                             ("label_detector", DETECTOR, {}),
                             ("result_store", STORE, {"TABLE_NAME": table})):
        (folder / f"{key}.py").write_text(source)
        lambdas.deploy(wb, key, environment=env, source=folder / f"{key}.py")
    # The stand-in detector counts attempts with marker objects: its role needs that too (IAM is enforced).
    markers = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                       "Resource": f"{wb.names.bucket_arn}/attempts/*"}]}
    wb.client("iam").put_role_policy(RoleName=wb.names.role_arn("label_detector").rsplit("/", 1)[1],
                                     PolicyName="stand-in-attempt-markers", PolicyDocument=json.dumps(markers))
    return statemachine.ensure(wb, statemachine.load())


def pipeline_input(wb, image_id: str) -> dict:
    return statemachine.pipeline_input(wb, image_id, "image/png")


def record(wb, image_id: str) -> dict:
    return wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}})["Item"]


def attempts(events: list[dict], state: str) -> int:
    """How often a Task state ran its Lambda (1 + its retries), as notebook 04 shows it."""
    return next(run.attempts for run in statemachine_view.states_run(events) if run.name == state)


def entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


# --- the committed definition -----------------------------------------------------------


def test_committed_definition_is_valid_asl(wb, pipeline):
    described = wb.client("stepfunctions").describe_state_machine(stateMachineArn=pipeline)
    assert described["status"] == "ACTIVE" and described["type"] == "STANDARD"
    assert described["roleArn"] == wb.names.role_arn("state_machine")
    # The local cloud parses definitions at creation, so a broken one is refused there too.
    broken = copy.deepcopy(statemachine.load())
    broken["States"]["StoreImage"]["Type"] = "Tusk"
    with pytest.raises(ClientError) as refused:
        wb.client("stepfunctions").create_state_machine(
            name=f"{PREFIX}-broken", definition=json.dumps(statemachine.render(broken, wb)),
            roleArn=wb.names.role_arn("state_machine"))
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"


def test_shape_is_the_contract():
    definition = statemachine.load()
    states = definition["States"]
    assert definition["StartAt"] == "StoreImage"
    assert list(states) == [*STATE_MACHINE_TASKS, "Failed"]
    assert states["StoreImage"]["Next"] == "DetectLabels" and states["DetectLabels"]["Next"] == "StoreResult"
    assert states["StoreResult"]["End"] is True
    assert states["RecordFailure"]["Next"] == "Failed"
    assert states["RecordFailure"]["Parameters"]["Payload"] == {"id.$": "$.id", "error.$": "$.error"}
    assert states["Failed"] == {"Type": "Fail", "Comment": states["Failed"]["Comment"],
                                "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    for name in STATE_MACHINE_TASKS:
        state = states[name]
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        # Only what the next states need is kept, and the id survives every step.
        assert all(path.startswith("$.Payload.") for path in state["ResultSelector"].values())
        assert state["ResultPath"].startswith("$.") and state["ResultPath"] != "$.id"


def test_every_task_retries_transient_errors_and_catches_everything():
    states = statemachine.load()["States"]
    for name in STATE_MACHINE_TASKS:
        (retrier,) = states[name]["Retry"]
        assert set(retrier["ErrorEquals"]) == TRANSIENT, name
        assert retrier["IntervalSeconds"] >= 1 and retrier["BackoffRate"] > 1 and retrier["MaxAttempts"] >= 2
        assert retrier["JitterStrategy"] == "FULL"
        (catcher,) = states[name]["Catch"]
        assert catcher["ErrorEquals"] == ["States.ALL"]
        # The failure path must not loop back into itself, and must keep the first error.
        expected = ("Failed", "$.record_error") if name == "RecordFailure" else ("RecordFailure", "$.error")
        assert (catcher["Next"], catcher["ResultPath"]) == expected, name


def test_render_substitutes_every_placeholder(wb):
    definition = statemachine.load()
    assert statemachine.placeholders(definition) == {"ImageUploaderArn", "LabelDetectorArn", "ResultStoreArn"}
    rendered = statemachine.render(definition, wb)
    assert statemachine.placeholders(rendered) == set() and "${" not in json.dumps(rendered)
    states = rendered["States"]
    assert states["StoreImage"]["Parameters"]["FunctionName"] == wb.names.function_arn("image_uploader")
    assert states["DetectLabels"]["Parameters"]["FunctionName"] == wb.names.function_arn("label_detector")
    assert states["RecordFailure"]["Parameters"]["FunctionName"] == wb.names.function_arn("result_store")
    assert definition == statemachine.load(), "render must not change its argument"
    assert statemachine.render(rendered, wb) == rendered
    with pytest.raises(statemachine.UnresolvedPlaceholder, match=r"\$\{Nope\}"):
        statemachine.render({"x": "${Nope}"}, wb)


def test_save_load_round_trip_is_byte_identical(tmp_path, monkeypatch):
    committed = statemachine.path().read_bytes()
    assert statemachine.dumps(statemachine.load()).encode() == committed, "committed file is not in saved form"
    monkeypatch.setattr(statemachine.workspace, "statemachine_dir", lambda: tmp_path / "statemachine")
    assert statemachine.save(json.loads(committed)) == "statemachine/image_pipeline.asl.json"
    first = statemachine.path().read_bytes()
    statemachine.save(statemachine.load())
    assert statemachine.path().read_bytes() == first == committed
    assert first.endswith(b"}\n") and first.startswith(b'{\n  "Comment"')


def test_ensure_updates_then_is_idempotent(wb, pipeline, monkeypatch):
    sfn = wb.client("stepfunctions")
    updates: list[dict] = []
    update = sfn.update_state_machine
    monkeypatch.setattr(sfn, "update_state_machine", lambda **kw: updates.append(kw) or update(**kw))
    changed = statemachine.load()
    changed["Comment"] = "edited"
    assert statemachine.ensure(wb, changed) == pipeline
    assert statemachine.deployed_definition(wb)["Comment"] == "edited"
    assert statemachine.ensure(wb, statemachine.load()) == pipeline
    assert statemachine.deployed_definition(wb) == statemachine.render(statemachine.load(), wb)
    assert len(updates) == 2
    assert statemachine.ensure(wb, statemachine.load()) == pipeline
    assert len(updates) == 2, "an unchanged definition must not be updated again"
    tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=pipeline)["tags"]}
    assert tags == wb.tags
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert names.count(wb.names.state_machine) == 1


def test_role_may_only_invoke_the_three_functions(wb, pipeline):
    (statement,) = iam.policy_of(wb, "state_machine")["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    arns = [wb.names.function_arn(k) for k in ("image_uploader", "label_detector", "result_store")]
    assert statement["Resource"] == arns + [f"{arn}:*" for arn in arns]


# --- executions -------------------------------------------------------------------------


def test_execution_succeeds_and_records_the_labels(wb, pipeline):
    described = statemachine.run(wb, pipeline_input(wb, "ok-1"), timeout=20)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    assert described["name"] == "ok-1"
    out = statemachine.output(described)
    assert out["id"] == "ok-1" and out["staging"]["key"] == "staging/ok-1"
    assert out["image"] == {"id": "ok-1", "bucket": wb.names.bucket, "key": "images/ok-1.png",
                            "content_type": "image/png", "size": 3}
    assert out["detection"]["labels"][0]["name"] == "Cat" and out["result"] == {"status": "SUCCEEDED"}
    events = statemachine.history(wb, described["executionArn"])
    assert entered(events) == ["StoreImage", "DetectLabels", "StoreResult"]
    assert record(wb, "ok-1")["status"] == {"S": "SUCCEEDED"}
    # Before ResultSelector: Lambda's answer, the function's result inside Payload.
    raw = statemachine.task_result(events, "StoreImage")
    assert raw["StatusCode"] == 200 and raw["Payload"] == {**out["image"]}
    assert statemachine.task_result(events, "StoreResult")["Payload"] == {"id": "ok-1", "status": "SUCCEEDED"}
    assert statemachine.task_result(events, "RecordFailure") is None


def test_a_failing_task_is_caught_recorded_and_fails_the_execution(wb, pipeline):
    described = statemachine.run(wb, pipeline_input(wb, "broken-1"), timeout=20)
    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidImageFormatException"
    assert "Request has invalid image format" in described["cause"]
    events = statemachine.history(wb, described["executionArn"])
    assert entered(events) == ["StoreImage", "DetectLabels", "RecordFailure", "Failed"]
    assert attempts(events, "DetectLabels") == 1, "a non-transient error must not be retried"
    item = record(wb, "broken-1")
    assert item["status"] == {"S": "FAILED"}
    assert item["error"]["M"]["Error"] == {"S": "InvalidImageFormatException"}
    assert statemachine.summary(described) == "execution broken-1: FAILED (InvalidImageFormatException)"


def test_a_transient_error_is_retried_then_succeeds(wb, pipeline):
    described = statemachine.run(wb, pipeline_input(wb, "throttled-1"), timeout=20)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "DetectLabels") == 2
    assert attempts(events, "StoreImage") == 1
    failures = [e for e in events if e["type"] == "TaskFailed"]
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["ThrottlingException"]
    assert entered(events) == ["StoreImage", "DetectLabels", "StoreResult"]
    assert record(wb, "throttled-1")["status"] == {"S": "SUCCEEDED"}


def test_starting_the_same_image_twice_returns_the_first_execution(wb, pipeline):
    first = statemachine.start(wb, pipeline_input(wb, "ok-twice"))
    statemachine.wait(wb, first, timeout=20)
    again = statemachine.start(wb, pipeline_input(wb, "ok-twice"))
    assert again == first == statemachine.execution_arn(wb, "ok-twice")
    executions = wb.client("stepfunctions").list_executions(stateMachineArn=pipeline)["executions"]
    assert [e["name"] for e in executions].count("ok-twice") == 1
    with pytest.raises(ValueError, match="name"):
        statemachine.start(wb, {"staging": {}})


def test_start_passes_other_errors_through(wb, pipeline):
    with pytest.raises(ClientError, match="262144 bytes"):
        statemachine.start(wb, {"id": "too-big", "image_base64": "A" * 300_000})


def test_wait_gives_up_after_the_timeout(wb, pipeline):
    arn = statemachine.start(wb, pipeline_input(wb, "slow-1"))
    with pytest.raises(TimeoutError, match="still RUNNING"):
        statemachine.wait(wb, arn, timeout=0)
    assert statemachine.wait(wb, arn, timeout=20)["status"] == "SUCCEEDED"


def test_stage_puts_the_bytes_at_their_id_and_returns_the_contract_input(wb, pipeline):
    data = b"\x89PNG\r\n\x1a\n not really"
    image_id = hashlib.sha256(data).hexdigest()
    assert statemachine.stage(wb, data, "image/png") == {
        "id": image_id, "staging": {"bucket": wb.names.bucket, "key": f"staging/{image_id}"},
        "content_type": "image/png"}
    staged = wb.client("s3").get_object(Bucket=wb.names.bucket, Key=f"staging/{image_id}")
    assert staged["Body"].read() == data and staged["ContentType"] == "image/png"
