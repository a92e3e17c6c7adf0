"""Faults inside the workflow (issue 4, point 2), through the real pipeline on the local cloud.

Notebooks 00-04 deploy the pipeline (their own Lambda code and the committed state machine)
into the test session's local cloud; each test then injects a fault with
``localcloud.faults`` and runs one image through the state machine, as the
api-receiver would: a PROCESSING record first, the bytes staged, the execution named after
the image id.

Two layers retry a transient error. boto3 inside a function retries throttling itself (its
standard mode: 3 attempts, DynamoDB 4) before the function fails; only then does the state
machine's Retry run the Task again. To show the state machine's layer one fault at a time,
the label-detector is deployed here with ``AWS_MAX_ATTEMPTS=1`` (a setting of the SDK, not of
the function's code), so every injected fault fails one Task attempt.

Rules are count-based, so every run injects the same faults; each retry waits at most
1, 2, 4 s (IntervalSeconds 1, BackoffRate 2, full jitter).
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from PIL import Image

from helpers import statemachine, statemachine_view
from localcloud import faults
from tests.conftest import deploy_pipeline

PREFIX = "faults-test"
NOTEBOOKS = ["00", "01", "02", "03", "04"]


def set_sdk_attempts(wb, key: str, attempts: int | None) -> None:
    """Set (or remove, with None) AWS_MAX_ATTEMPTS in a function's environment, keeping the rest."""
    lam = wb.client("lambda")
    name = wb.names.function(key)
    variables = dict(lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {}))
    if attempts is None:
        variables.pop("AWS_MAX_ATTEMPTS", None)
    else:
        variables["AWS_MAX_ATTEMPTS"] = str(attempts)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)


@pytest.fixture(scope="module")
def wb(localcloud, tmp_path_factory):
    """The pipeline of prefix faults-test, deployed by running notebooks 00-04."""
    session = deploy_pipeline(localcloud, PREFIX, NOTEBOOKS, tmp_path_factory.mktemp("faults-notebooks"))
    set_sdk_attempts(session, "label_detector", 1)
    return session


@pytest.fixture(autouse=True)
def no_faults(localcloud):
    faults.clear(localcloud)
    yield
    faults.clear(localcloud)


def png(seed: str) -> bytes:
    """A small PNG Rekognition accepts (at least 80 pixels a side), different for each seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), tuple(digest[:3])).save(buffer, format="PNG")
    return buffer.getvalue()


def submit(wb, seed: str) -> tuple[str, dict]:
    """What the api-receiver does, then the execution to its end: (image id, described execution)."""
    data = png(f"{seed}-{os.getpid()}")
    image_id = hashlib.sha256(data).hexdigest()
    wb.client("dynamodb").put_item(TableName=wb.names.table, Item={
        "id": {"S": image_id}, "status": {"S": "PROCESSING"}, "created_at": {"S": "2026-01-01T00:00:00.000Z"}})
    execution_input = statemachine.stage(wb, data, "image/png")
    assert execution_input["id"] == image_id
    return image_id, statemachine.run(wb, execution_input, timeout=60)


def record(wb, image_id: str) -> dict:
    item = wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}}, ConsistentRead=True)
    return item["Item"]


def attempts(events: list[dict], state: str) -> int:
    """How often a Task state ran its Lambda (1 + its retries), as notebook 04 shows it."""
    return next(run.attempts for run in statemachine_view.states_run(events) if run.name == state)


def task_errors(events: list[dict]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


def entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def fired(endpoint: str, rule: dict) -> int:
    return next(r["fired"] for r in faults.rules(endpoint) if r["id"] == rule["id"])


def image_glob(wb) -> str:
    return f"{wb.names.bucket}/images/*"


# --- transient errors: retried, then the image succeeds --------------------------------------


def test_rekognition_throttling_is_retried_by_the_state_machine(wb, localcloud):
    rule = faults.inject(localcloud, service="rekognition", operation="DetectLabels",
                         error="ThrottlingException", count=2, match=image_glob(wb))
    image_id, described = submit(wb, "throttled")
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "DetectLabels") == 3
    assert task_errors(events) == ["ThrottlingException", "ThrottlingException"]
    assert entered(events) == ["StoreImage", "DetectLabels", "StoreResult"]
    assert fired(localcloud, rule) == 2
    item = record(wb, image_id)
    assert item["status"] == {"S": "SUCCEEDED"} and "L" in item["labels"]  # what a test image shows is the model's


def test_lambda_throttling_of_the_invoke_is_retried_as_lambda_too_many_requests(wb, localcloud):
    rule = faults.inject(localcloud, service="lambda", operation="Invoke", error="TooManyRequestsException",
                         count=2, match=wb.names.function("label_detector"))
    image_id, described = submit(wb, "lambda-throttled")
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "DetectLabels") == 3 and attempts(events, "StoreImage") == 1
    assert task_errors(events) == ["Lambda.TooManyRequestsException"] * 2
    (cause, _) = [e["taskFailedEventDetails"]["cause"] for e in events if e["type"] == "TaskFailed"]
    assert "Status Code: 429" in cause and "Error Code: TooManyRequestsException" in cause
    assert fired(localcloud, rule) == 2
    assert record(wb, image_id)["status"] == {"S": "SUCCEEDED"}


def test_lambda_service_exception_is_retried(wb, localcloud):
    faults.inject(localcloud, service="lambda", operation="Invoke", error="ServiceException",
                  count=1, match=wb.names.function("image_uploader"))
    image_id, described = submit(wb, "lambda-service")
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "StoreImage") == 2 and task_errors(events) == ["Lambda.ServiceException"]
    assert record(wb, image_id)["status"] == {"S": "SUCCEEDED"}


def test_dynamodb_throttling_of_the_result_store_is_retried_by_the_sdk_inside_it(wb, localcloud):
    rule = faults.inject(localcloud, service="dynamodb", operation="UpdateItem",
                         error="ProvisionedThroughputExceededException", count=1, match=wb.names.table)
    image_id, described = submit(wb, "ddb-throttled")
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    events = statemachine.history(wb, described["executionArn"])
    # boto3's own retry absorbed it: one Task attempt, one refused UpdateItem.
    assert attempts(events, "StoreResult") == 1 and task_errors(events) == []
    assert fired(localcloud, rule) == 1
    assert record(wb, image_id)["status"] == {"S": "SUCCEEDED"}


def test_dynamodb_throttling_that_outlasts_the_sdk_is_retried_by_the_state_machine(wb, localcloud):
    # boto3 raises a ClientError subclass named after the code, so the function's errorType,
    # the name Retry matches, is ProvisionedThroughputExceededException, as on AWS.
    set_sdk_attempts(wb, "result_store", 1)
    try:
        faults.inject(localcloud, service="dynamodb", operation="UpdateItem",
                      error="ProvisionedThroughputExceededException", count=1, match=wb.names.table)
        image_id, described = submit(wb, "ddb-throttled-sfn")
        events = statemachine.history(wb, described["executionArn"])
        assert task_errors(events) == ["ProvisionedThroughputExceededException"]
        assert described["status"] == "SUCCEEDED" and attempts(events, "StoreResult") == 2
        assert record(wb, image_id)["status"] == {"S": "SUCCEEDED"}
    finally:
        set_sdk_attempts(wb, "result_store", None)


# --- permanent errors, and transient ones that persist: caught, recorded FAILED --------------


def test_a_permanent_rekognition_error_is_caught_and_recorded(wb, localcloud):
    faults.inject(localcloud, service="rekognition", operation="DetectLabels", error="AccessDeniedException",
                  count=1, match=image_glob(wb))
    image_id, described = submit(wb, "denied")
    assert described["status"] == "FAILED"
    assert described["error"] == "AccessDeniedException"
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "DetectLabels") == 1, "a permanent error must not be retried"
    assert entered(events) == ["StoreImage", "DetectLabels", "RecordFailure", "Failed"]
    item = record(wb, image_id)
    assert item["status"] == {"S": "FAILED"}
    error = item["error"]["M"]
    assert error["Error"] == {"S": "AccessDeniedException"}
    assert "not authorized" in error["Cause"]["S"] and f"images/{image_id}.png" in error["Cause"]["S"]
    assert "labels" not in item and item["created_at"] == {"S": "2026-01-01T00:00:00.000Z"}


def test_a_transient_error_beyond_max_attempts_is_caught_and_recorded(wb, localcloud):
    max_attempts = statemachine.load()["States"]["DetectLabels"]["Retry"][0]["MaxAttempts"]
    rule = faults.inject(localcloud, service="rekognition", operation="DetectLabels",
                         error="ThrottlingException", count=max_attempts + 1, match=image_glob(wb))
    image_id, described = submit(wb, "throttled-forever")
    assert described["status"] == "FAILED" and described["error"] == "ThrottlingException"
    events = statemachine.history(wb, described["executionArn"])
    assert attempts(events, "DetectLabels") == max_attempts + 1
    assert task_errors(events) == ["ThrottlingException"] * (max_attempts + 1)
    assert entered(events) == ["StoreImage", "DetectLabels", "RecordFailure", "Failed"]
    assert fired(localcloud, rule) == max_attempts + 1
    item = record(wb, image_id)
    assert item["status"] == {"S": "FAILED"}
    assert item["error"]["M"]["Error"] == {"S": "ThrottlingException"}
    assert "Rate exceeded" in item["error"]["M"]["Cause"]["S"]
