"""The upload-receiver, as notebook 07 writes it: S3 event notifications built by hand, on the test local cloud.

The function starts the pipeline for images uploaded straight to S3 under ``uploads/``. A
stand-in state machine (one Pass state) takes the place of notebook 04's, so an execution
here proves the receiver started it, with the input docs/pipeline.md names; nothing moves
the upload to ``images/`` (the image-uploader's job, tested on its own).
"""

from __future__ import annotations

import hashlib
import io
import json
import runpy
import sys
import uuid
from urllib.parse import quote_plus

import pytest
from PIL import Image

from helpers import api, workspace
from tests.conftest import stand_in_pipeline
from tests.notebook_code import function_source, load_function, module_source

NOTEBOOK = "07_large_images.ipynb"
BAD = workspace.DATA_DIR / "bad"
_MAKE = runpy.run_path(str(BAD / "make_bad_inputs.py"))
make_png, make_jpeg = _MAKE["png"], _MAKE["jpeg_grey"]


@pytest.fixture(scope="module")
def wb(localcloud):
    return stand_in_pipeline(localcloud, "upload-rx-test")


@pytest.fixture(scope="module")
def receiver(wb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload_receiver")
    # 07 packages two of 05's modules beside the receiver; the test does the same.
    for module in ("image_checks", "pipeline_start"):
        (folder / f"{module}.py").write_text(module_source("05_api.ipynb", module))
        sys.modules.pop(module, None)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {"BUCKET_NAME": wb.names.bucket, "TABLE_NAME": wb.names.table,
                           "STATE_MACHINE_ARN": wb.names.state_machine_arn}.items():
            patch.setenv(key, value)
        return load_function(NOTEBOOK, "upload_receiver", folder)


def upload(wb, data: bytes, content_type: str = "image/png") -> str:
    """Put ``data`` under uploads/ as a presigned POST would; returns its key."""
    key = f"uploads/{uuid.uuid4().hex}"
    wb.client("s3").put_object(Bucket=wb.names.bucket, Key=key, Body=data, ContentType=content_type)
    return key


def event(wb, *keys: str, bucket: str | None = None) -> dict:
    """An S3 event notification as S3 sends it (keys URL-encoded)."""
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Post",
                         "s3": {"bucket": {"name": bucket or wb.names.bucket}, "object": {"key": quote_plus(key)}}}
                        for key in keys]}


def exists(wb, key: str) -> bool:
    return wb.client("s3").list_objects_v2(Bucket=wb.names.bucket, Prefix=key).get("KeyCount", 0) > 0


def record(wb, image_id: str) -> dict | None:
    return wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}},
                                          ConsistentRead=True).get("Item")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_new_image_is_recorded_and_started_with_the_upload_as_its_staged_bytes(wb, receiver):
    image = make_png(100, 80)
    key = upload(wb, image)
    answer = receiver.handler(event(wb, key), None)
    assert answer == {"uploads": [{"key": key, "id": sha(image), "status": "PROCESSING"}]}
    assert record(wb, sha(image))["status"] == {"S": "PROCESSING"}
    [execution] = api.executions_named(wb, sha(image))
    described = wb.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"id": sha(image), "staging": {"bucket": wb.names.bucket, "key": key},
                                              "content_type": "image/png"}
    assert exists(wb, key)  # the image-uploader moves it; the receiver leaves it


def test_an_image_wider_than_10000_pixels_is_taken_the_label_detector_downscales_it(wb, receiver):
    out = io.BytesIO()
    Image.new("RGB", (10_500, 90), (10, 120, 200)).save(out, "JPEG")
    key = upload(wb, out.getvalue(), "image/jpeg")
    assert receiver.handler(event(wb, key), None)["uploads"][0]["status"] == "PROCESSING"


def test_an_image_the_pipeline_already_has_deletes_the_upload_and_starts_nothing(wb, receiver):
    image = make_png(101, 80)
    receiver.handler(event(wb, upload(wb, image)), None)
    before = api.footprint(wb)
    second = upload(wb, image)
    answer = receiver.handler(event(wb, second), None)
    assert answer["uploads"][0] == {"key": second, "id": sha(image), "status": "PROCESSING", "duplicate": True}
    assert not exists(wb, second)
    assert len(api.executions_named(wb, sha(image))) == 1 and api.footprint(wb)["records"] == before["records"]


def test_a_finished_image_uploaded_again_is_answered_by_its_record(wb, receiver):
    image = make_jpeg(102, 80)
    wb.client("dynamodb").put_item(TableName=wb.names.table, Item={"id": {"S": sha(image)},
                                                                   "status": {"S": "SUCCEEDED"}})
    key = upload(wb, image, "image/jpeg")
    assert receiver.handler(event(wb, key), None)["uploads"][0]["status"] == "SUCCEEDED"
    assert not exists(wb, key) and api.executions_named(wb, sha(image)) == []


@pytest.mark.parametrize(("data", "content_type", "code"), [
    ((BAD / "truncated.jpg").read_bytes(), "image/jpeg", "InvalidImage"),
    ((BAD / "drawing.gif").read_bytes(), "image/gif", "UnsupportedImageFormat"),
    ((BAD / "bomb.png").read_bytes(), "image/png", "DecompressionBomb"),
    ((BAD / "tiny.png").read_bytes(), "image/png", "ImageTooSmall"),
    (b"plain text, not an image", "image/png", "InvalidImage"),
])
def test_a_refused_upload_is_deleted_and_its_record_says_why(wb, receiver, data, content_type, code):
    key = upload(wb, data, content_type)
    answer = receiver.handler(event(wb, key), None)
    assert answer["uploads"][0] == {"key": key, "id": sha(data), "status": "FAILED", "error": code}
    assert not exists(wb, key)
    item = record(wb, sha(data))
    assert item["status"] == {"S": "FAILED"} and item["error"]["M"]["Error"] == {"S": code}
    assert len(item["error"]["M"]["Cause"]["S"]) > 20 and api.executions_named(wb, sha(data)) == []


def test_a_refusal_never_overwrites_an_existing_record(wb, receiver):
    data = b"refused bytes with a record already"
    wb.client("dynamodb").put_item(TableName=wb.names.table, Item={"id": {"S": sha(data)},
                                                                   "status": {"S": "FAILED"}, "note": {"S": "first"}})
    receiver.handler(event(wb, upload(wb, data)), None)
    assert record(wb, sha(data))["note"] == {"S": "first"}


def test_a_content_type_that_is_not_the_bytes_format_is_refused(wb, receiver):
    image = make_png(103, 80)
    key = upload(wb, image, "image/jpeg")
    assert receiver.handler(event(wb, key), None)["uploads"][0]["error"] == "ContentTypeMismatch"


def test_an_object_over_15_mib_is_deleted_unread_and_recorded_nowhere(wb, receiver):
    key = upload(wb, b"\x89PNG\r\n\x1a\n" + bytes(15 * 1024 * 1024 - 7))
    before = api.footprint(wb)
    answer = receiver.handler(event(wb, key), None)
    assert answer["uploads"][0] == {"key": key, "id": None, "status": "FAILED", "error": "ImageTooLarge"}
    assert not exists(wb, key) and api.footprint(wb)["records"] == before["records"]


def _record(bucket="BUCKET", key="uploads/" + "a" * 32):
    return {"s3": {"bucket": {"name": bucket}, "object": {"key": key}}}


@pytest.mark.parametrize("bad_event", [
    {"Records": [_record(bucket="someone-elses")]},
    {"Records": [_record(key="images/x.png")]},
    {"Records": [_record(key="uploads/" + "a" * 32 + "\n")]},  # fullmatch: ^...$ would take the newline
    {"Records": [_record(key="uploads/" + "a" * 32 + "%0A")]},  # the same, URL-encoded as S3 sends keys
    {"Records": [_record(key="xuploads/" + "a" * 32)]},
    {"Records": [_record(key="uploads/" + "A" * 32)]},
    {"detail-type": "not an S3 notification"},
    # malformed: wrong types and missing fields are refused by name, never a KeyError or TypeError
    None, [], "Records", {"Records": None}, {"Records": []}, {"Records": "x"}, {"Records": [None]},
    {"Records": [{}]}, {"Records": [{"s3": None}]}, {"Records": [{"s3": {"bucket": "BUCKET"}}]},
    {"Records": [{"s3": {"bucket": {"name": "BUCKET"}, "object": {"key": 12}}}]},
    {"Records": [{"s3": {"bucket": {"name": ["BUCKET"]}, "object": {"key": "uploads/" + "a" * 32}}}]},
    {"Records": [_record(), {"s3": {"bucket": {"name": "BUCKET"}}}]},
], ids=repr)
def test_an_event_that_names_no_upload_of_this_pipeline_is_refused(wb, receiver, bad_event):
    text = json.dumps(bad_event).replace("BUCKET", wb.names.bucket)
    before = api.footprint(wb)
    with pytest.raises(receiver.InvalidEvent):
        receiver.handler(json.loads(text), None)
    assert api.footprint(wb) == before


def test_the_function_uses_only_the_standard_library_boto3_and_image_checks():
    imports = {line.split()[1].split(".")[0] for line in function_source(NOTEBOOK, "upload_receiver").splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "hashlib", "logging", "os", "re", "typing", "urllib", "boto3", "image_checks",
                       "pipeline_start"}, imports
