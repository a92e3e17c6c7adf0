"""The result-store's handler, exactly as notebook 03 writes it, against the test local cloud."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from helpers import storage, workbook
from tests.notebook_code import load_function

NOTEBOOK = "03_result_store.ipynb"
LABELS = [
    {"name": "Cat", "confidence": 98.12, "parents": ["Animal"],
     "instances": [{"box": {"left": 0.1, "top": 0.2, "width": 0.3123, "height": 0.4}, "confidence": 97.0}]},
    {"name": "Indoors", "confidence": 80.5, "parents": [], "instances": []},
]
OPENED_AT = "2020-01-01T00:00:00.000Z"


def _id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _image(image_id: str) -> dict:
    return {"id": image_id, "bucket": "b", "key": f"images/{image_id}.png", "content_type": "image/png", "size": 1234}


def _success(image_id: str) -> dict:
    return {"id": image_id, "image": _image(image_id), "labels": LABELS}


def _success_with_image(**changes) -> dict:
    return {**_success(_id("x")), "image": {**_image(_id("x")), **changes}}


def _is_utc_iso(text: str) -> bool:
    return text.endswith("Z") and datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo == timezone.utc


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "handler-results", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def table(wb):
    import boto3

    return boto3.resource("dynamodb", region_name=wb.region).Table(storage.ensure_table(wb))


@pytest.fixture
def store(table, monkeypatch, tmp_path):
    monkeypatch.setenv("TABLE_NAME", table.name)
    return load_function(NOTEBOOK, "result_store", tmp_path)


def _item(table, image_id: str) -> dict | None:
    return table.get_item(Key={"id": image_id}, ConsistentRead=True).get("Item")


def _open(table, image_id: str) -> None:
    table.put_item(Item={"id": image_id, "status": "PROCESSING", "created_at": OPENED_AT, "updated_at": OPENED_AT})


def test_a_success_without_a_record_creates_it_with_decimals_and_utc_times(store, table):
    image_id = _id("new success")
    assert store.handler(_success(image_id), None) == {"id": image_id, "status": "SUCCEEDED"}
    item = _item(table, image_id)
    assert item["status"] == "SUCCEEDED" and "error" not in item
    assert item["image"] == {"bucket": "b", "key": f"images/{image_id}.png", "content_type": "image/png", "size": 1234}
    assert item["labels"][0]["confidence"] == Decimal("98.12")
    assert item["labels"][0]["instances"][0]["box"]["width"] == Decimal("0.3123")
    assert json.loads(json.dumps(item["labels"], default=float)) == LABELS
    assert item["created_at"] == item["updated_at"] and _is_utc_iso(item["created_at"])


def test_a_downscaled_analysis_is_recorded_and_an_ordinary_one_is_not(store, table):
    analysis = {"downscaled": True, "width": 4096, "height": 307, "original": {"width": 12000, "height": 900}}
    downscaled, ordinary = _id("downscaled"), _id("analysed as it is")
    store.handler({**_success(downscaled), "analysis": analysis}, None)
    store.handler({**_success(ordinary), "analysis": {"downscaled": False}}, None)
    assert _item(table, downscaled)["analysis"] == analysis
    assert "analysis" not in _item(table, ordinary)


def test_a_success_closes_a_processing_record_and_keeps_its_created_at(store, table):
    image_id = _id("processing then success")
    _open(table, image_id)
    assert store.handler(_success(image_id), None) == {"id": image_id, "status": "SUCCEEDED"}
    item = _item(table, image_id)
    assert item["created_at"] == OPENED_AT and item["updated_at"] > OPENED_AT and _is_utc_iso(item["updated_at"])


def test_a_second_final_write_is_refused_and_reported_unchanged(store, table):
    image_id = _id("written twice")
    store.handler(_success(image_id), None)
    before = _item(table, image_id)
    unchanged = {"id": image_id, "status": "SUCCEEDED", "unchanged": True}
    assert store.handler(_success(image_id), None) == unchanged
    assert store.handler({"id": image_id, "error": {"Error": "States.Timeout", "Cause": "late"}}, None) == unchanged
    assert _item(table, image_id) == before


def test_a_success_after_a_failure_is_refused_too(store, table):
    image_id = _id("failed then success")
    store.handler({"id": image_id, "error": {"Error": "InvalidImageFormatException", "Cause": "bad"}}, None)
    assert store.handler(_success(image_id), None) == {"id": image_id, "status": "FAILED", "unchanged": True}
    assert _item(table, image_id)["status"] == "FAILED" and "labels" not in _item(table, image_id)


def test_a_failure_keeps_the_lambda_error_message_not_its_stack_trace(store, table):
    image_id = _id("failure from a lambda")
    _open(table, image_id)
    cause = json.dumps({"errorMessage": "Request has invalid image format (s3://b/k)",
                        "errorType": "InvalidImageFormatException", "stackTrace": ["  File \"/var/task/x.py\""]})
    result = store.handler({"id": image_id, "error": {"Error": "InvalidImageFormatException", "Cause": cause}}, None)
    assert result == {"id": image_id, "status": "FAILED"}
    item = _item(table, image_id)
    assert item["error"] == {"Error": "InvalidImageFormatException",
                             "Cause": "Request has invalid image format (s3://b/k)"}
    assert item["created_at"] == OPENED_AT and "labels" not in item and "image" not in item


@pytest.mark.parametrize(
    ("cause", "kept"),
    [
        ("The state timed out.", "The state timed out."),  # plain text (States.Timeout, Fail states)
        ('["a", "list"]', '["a", "list"]'),  # JSON, but not an error document
        (None, ""),  # no Cause at all
    ],
)
def test_other_causes_are_kept_as_text(store, table, cause, kept):
    image_id = _id(f"cause {cause}")
    error = {"Error": "States.Timeout"} if cause is None else {"Error": "States.Timeout", "Cause": cause}
    store.handler({"id": image_id, "error": error}, None)
    assert _item(table, image_id)["error"] == {"Error": "States.Timeout", "Cause": kept}


def test_floats_become_exact_decimals_at_any_depth(store):
    converted = store.to_dynamodb({"a": [0.1, {"b": 99.94}], "n": 3, "s": "x", "t": True})
    assert converted == {"a": [Decimal("0.1"), {"b": Decimal("99.94")}], "n": 3, "s": "x", "t": True}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("id", "the event must be a JSON object, got str"),
        ({"image": _image(_id("x")), "labels": []}, "id must be the image's SHA-256 as 64 lowercase hex .* got None"),
        ({**_success(_id("x")), "id": "x"}, "id must be the image's SHA-256"),
        ({"id": _id("x")}, "a success event gives 'image'"),
        ({"id": _id("x"), "image": "images/x.png", "labels": []}, "a success event gives 'image'"),
        ({"id": _id("x"), "image": _image(_id("x"))}, "labels must be a list of objects with a 'name'"),
        ({"id": _id("x"), "image": _image(_id("x")), "labels": [{"confidence": 9.0}]}, "labels must be a list"),
        (_success_with_image(size="1234"), "image.size must be of type int, got '1234'"),
        (_success_with_image(size=True), "image.size must be of type int, got True"),
        (_success_with_image(bucket=None), "image.bucket must be of type str, got None"),
        (_success_with_image(id=_id("y")), f"image.id {_id('y')} is not the event's id {_id('x')}"),
        ({"id": _id("x"), "error": "boom"}, "error must be an object with 'Error'"),
        ({"id": _id("x"), "error": {"Error": "", "Cause": "?"}}, "error must be an object with 'Error'"),
        ({"id": _id("x"), "error": {"Cause": "?"}}, "error must be an object with 'Error'"),
    ],
)
def test_a_malformed_event_is_refused_and_nothing_is_written(store, table, event, message):
    with pytest.raises(store.InvalidEvent, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.handler(event, None)
    assert _item(table, _id("x")) is None
