"""The image-uploader's handler, exactly as notebook 01 writes it, against the test local cloud."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from PIL import Image

from helpers import storage, workbook, workspace
from tests.notebook_code import function_source, load_function

NOTEBOOK = "01_image_uploader.ipynb"
TINY_PNG = (workspace.DATA_DIR / "bad" / "tiny.png").read_bytes()  # a valid 10x10 PNG
NOT_AN_IMAGE = (workspace.DATA_DIR / "bad" / "not_an_image.png").read_bytes()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "handler-uploader", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def bucket(wb):
    return storage.ensure_bucket(wb)


@pytest.fixture
def s3(wb):
    return wb.client("s3")


@pytest.fixture
def uploader(bucket, monkeypatch, tmp_path):
    monkeypatch.setenv("BUCKET_NAME", bucket)
    return load_function(NOTEBOOK, "image_uploader", tmp_path)


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_the_notebook_writes_the_function_once():
    source = function_source(NOTEBOOK, "image_uploader")
    assert source.startswith('"""image-uploader:') and "def handler(event" in source


def test_bytes_in_the_event_are_stored_under_their_hash_with_their_content_type(uploader, s3, bucket):
    stored = uploader.handler({"image_base64": _b64(TINY_PNG), "content_type": "image/png"}, None)
    key = f"images/{_sha(TINY_PNG)}.png"
    assert stored == {"id": _sha(TINY_PNG), "bucket": bucket, "key": key, "content_type": "image/png",
                      "size": len(TINY_PNG)}
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == TINY_PNG and got["ContentType"] == "image/png"


def test_a_jpeg_gets_the_jpg_extension_and_a_given_matching_id_is_accepted(uploader, s3, bucket):
    data = _jpeg()
    stored = uploader.handler({"id": _sha(data), "image_base64": _b64(data), "content_type": "image/jpeg"}, None)
    assert stored["key"] == f"images/{_sha(data)}.jpg"
    assert s3.head_object(Bucket=bucket, Key=stored["key"])["ContentType"] == "image/jpeg"


def test_staged_bytes_are_stored_then_the_staged_copy_is_removed(uploader, s3, bucket):
    data = _jpeg() + b"staged"  # any bytes after a JPEG's start pass the magic-byte check
    image_id = _sha(data)
    s3.put_object(Bucket=bucket, Key=f"staging/{image_id}", Body=data)
    event = {"id": image_id, "staging": {"bucket": bucket, "key": f"staging/{image_id}"}, "content_type": "image/jpeg"}
    stored = uploader.handler(event, None)
    assert stored["key"] == f"images/{image_id}.jpg" and stored["size"] == len(data)
    assert s3.get_object(Bucket=bucket, Key=stored["key"])["Body"].read() == data
    assert _keys(s3, bucket, f"staging/{image_id}") == []


def test_an_upload_straight_to_s3_is_stored_then_removed_like_a_staged_copy(uploader, s3, bucket):
    # Notebook 07: the upload-receiver passes the presigned upload's own key as the staged bytes.
    data = _jpeg() + b"uploaded"
    image_id = _sha(data)
    key = "uploads/" + "ab" * 16
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    event = {"id": image_id, "staging": {"bucket": bucket, "key": key}, "content_type": "image/jpeg"}
    stored = uploader.handler(event, None)
    assert stored["key"] == f"images/{image_id}.jpg"
    assert s3.get_object(Bucket=bucket, Key=stored["key"])["Body"].read() == data
    assert _keys(s3, bucket, "uploads/") == []


def test_a_retry_after_the_staged_copy_was_removed_returns_the_stored_image(uploader, s3, bucket):
    # The state machine retries StoreImage if an attempt's answer is lost after it stored the
    # image and removed the staged copy: the retry must succeed, not fail the image.
    data = _jpeg() + b"retried"
    image_id = _sha(data)
    s3.put_object(Bucket=bucket, Key=f"staging/{image_id}", Body=data)
    event = {"id": image_id, "staging": {"bucket": bucket, "key": f"staging/{image_id}"}, "content_type": "image/jpeg"}
    first = uploader.handler(event, None)
    assert _keys(s3, bucket, f"staging/{image_id}") == []
    assert uploader.handler(event, None) == first


def test_storing_the_same_bytes_twice_gives_the_same_answer_and_one_object(uploader, s3, bucket):
    event = {"image_base64": _b64(TINY_PNG), "content_type": "image/png"}
    assert uploader.handler(event, None) == uploader.handler(event, None)
    assert _keys(s3, bucket, f"images/{_sha(TINY_PNG)}") == [f"images/{_sha(TINY_PNG)}.png"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["not", "an", "object"], "the event must be a JSON object, got list"),
        ({"image_base64": _b64(TINY_PNG)}, "content_type must be one of image/png, image/jpeg, got None"),
        ({"image_base64": _b64(TINY_PNG), "content_type": "image/gif"}, "got 'image/gif'"),
        ({"content_type": "image/png"}, "give exactly one of 'staging'"),
        ({"image_base64": _b64(TINY_PNG), "staging": {}, "content_type": "image/png"}, "give exactly one of"),
        ({"image_base64": 12, "content_type": "image/png"}, "image_base64 must be a base64 string, got int"),
        ({"image_base64": "not base64!", "content_type": "image/png"}, "image_base64 is not valid base64"),
        ({"id": "ABC", "image_base64": _b64(TINY_PNG), "content_type": "image/png"}, "id must be the image's SHA-256"),
        ({"id": _sha(TINY_PNG).upper(), "image_base64": _b64(TINY_PNG), "content_type": "image/png"},
         "64 lowercase hex characters"),
        ({"staging": {"bucket": "b", "key": "k"}, "content_type": "image/png"}, "must give the image's 'id' too"),
        ({"id": _sha(TINY_PNG), "staging": "staging/x", "content_type": "image/png"},
         "staging must be an object with 'bucket' and 'key', got str"),
        ({"id": _sha(TINY_PNG), "staging": {"bucket": "someone-elses", "key": f"staging/{_sha(TINY_PNG)}"},
          "content_type": "image/png"}, "staging.bucket must be this function's bucket handler-uploader-images-"),
        ({"id": _sha(TINY_PNG), "staging": {"bucket": "BUCKET", "key": "images/x.png"}, "content_type": "image/png"},
         f"staging.key must be staging/{_sha(TINY_PNG)}"),
        ({"id": _sha(TINY_PNG), "staging": {"bucket": "BUCKET", "key": "uploads/../images/x"},
          "content_type": "image/png"}, "or an upload's key (uploads/ and 32 hex characters)"),
        ({"id": _sha(TINY_PNG), "staging": {"bucket": "BUCKET", "key": "uploads/" + "a" * 31},
          "content_type": "image/png"}, "or an upload's key"),
    ],
)
def test_a_malformed_event_is_refused_with_invalid_event(uploader, bucket, event, message):
    staging = event.get("staging") if isinstance(event, dict) else None
    if isinstance(staging, dict) and staging.get("bucket") == "BUCKET":  # the test bucket's name, known only here
        event = {**event, "staging": {**staging, "bucket": bucket}}
    with pytest.raises(uploader.InvalidEvent, match=message.replace("(", r"\(").replace(")", r"\)")):
        uploader.handler(event, None)


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (NOT_AN_IMAGE, "image/png", "content_type is image/png but the bytes are neither PNG nor JPEG"),
        (TINY_PNG, "image/jpeg", "content_type is image/jpeg but the bytes are a PNG"),
        (_jpeg(), "image/png", "content_type is image/png but the bytes are a JPEG"),
        (b"", "image/png", r"the image is empty \(0 bytes\)"),
    ],
)
def test_bytes_that_are_not_the_declared_image_are_refused_and_nothing_is_stored(uploader, s3, bucket, data,
                                                                                 content_type, message):
    with pytest.raises(uploader.InvalidImage, match=message):
        uploader.handler({"image_base64": _b64(data), "content_type": content_type}, None)
    assert _keys(s3, bucket, f"images/{_sha(data)}.{'png' if content_type == 'image/png' else 'jpg'}") == []


def test_bytes_over_the_limit_are_refused(uploader):
    uploader.MAX_BYTES = len(TINY_PNG) - 1
    with pytest.raises(uploader.InvalidImage, match=f"the image is {len(TINY_PNG)} bytes; Rekognition accepts at most"):
        uploader.handler({"image_base64": _b64(TINY_PNG), "content_type": "image/png"}, None)


def test_bytes_given_with_another_id_are_refused(uploader):
    other = "0" * 64
    with pytest.raises(uploader.IdMismatch, match=f"the bytes' SHA-256 is {_sha(TINY_PNG)}, not the id {other}"):
        uploader.handler({"id": other, "image_base64": _b64(TINY_PNG), "content_type": "image/png"}, None)


def test_staged_bytes_that_changed_are_refused_and_left_in_staging(uploader, s3, bucket):
    claimed = "1" * 64
    s3.put_object(Bucket=bucket, Key=f"staging/{claimed}", Body=TINY_PNG)
    event = {"id": claimed, "staging": {"bucket": bucket, "key": f"staging/{claimed}"}, "content_type": "image/png"}
    with pytest.raises(uploader.IdMismatch):
        uploader.handler(event, None)
    assert _keys(s3, bucket, f"staging/{claimed}") == [f"staging/{claimed}"]
    assert _keys(s3, bucket, f"images/{claimed}") == []


def test_nothing_staged_is_a_typed_error_naming_the_key(uploader, bucket):
    missing = "2" * 64
    event = {"id": missing, "staging": {"bucket": bucket, "key": f"staging/{missing}"}, "content_type": "image/png"}
    expected = rf"s3://{bucket}/staging/{missing} could not be read \(NoSuchKey\)"
    with pytest.raises(uploader.StagedImageMissing, match=expected):
        uploader.handler(event, None)


def test_every_refusal_is_a_value_or_lookup_error_with_its_own_name(uploader):
    # The state machine matches errors by class name: each must be distinct and descriptive.
    kinds = [uploader.InvalidEvent, uploader.InvalidImage, uploader.IdMismatch, uploader.StagedImageMissing]
    assert len({kind.__name__ for kind in kinds}) == 4
    assert all(issubclass(kind, (ValueError, LookupError)) for kind in kinds)
