"""The label-detector's handler, exactly as notebook 02 writes it.

Rekognition's answer is stubbed where the test is about the function's own work (the
settings it passes, the shape it returns, the names it gives errors); the local cloud's
DetectLabels, whose input checks are AWS's, answers where the test is about real refusals.
"""

from __future__ import annotations

import io

import pytest
from botocore.stub import Stubber
from PIL import Image

from helpers import storage, workbook, workspace
from tests.notebook_code import load_function

NOTEBOOK = "02_label_detector.ipynb"
BAD = workspace.DATA_DIR / "bad"

DETECTED = {
    "Labels": [
        {
            "Name": "Cat",
            "Confidence": 98.123456,
            "Parents": [{"Name": "Animal"}, {"Name": "Pet"}],
            "Aliases": [{"Name": "Kitten"}],
            "Categories": [{"Name": "Animals and Pets"}],
            "Instances": [{"BoundingBox": {"Width": 0.312345, "Height": 0.4, "Left": 0.1, "Top": 0.2000004},
                           "Confidence": 97.00001}],
        },
        {"Name": "Indoors", "Confidence": 80.5, "Parents": [], "Instances": []},
        {"Name": "Furniture", "Confidence": 75.0},  # no Parents or Instances at all
    ],
    "LabelModelVersion": "3.0",
}


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "handler-detector", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def bucket(wb):
    return storage.ensure_bucket(wb)


@pytest.fixture(scope="module")
def stored(wb, bucket):
    """Puts bytes at images/NAME in the test bucket and returns the event naming them."""

    def put(name: str, data: bytes) -> dict[str, str]:
        wb.client("s3").put_object(Bucket=bucket, Key=f"images/{name}", Body=data)
        return {"bucket": bucket, "key": f"images/{name}"}

    return put


@pytest.fixture
def detector(wb, monkeypatch, tmp_path):
    monkeypatch.setenv("MAX_LABELS", "5")
    monkeypatch.setenv("MIN_CONFIDENCE", "72.5")
    return load_function(NOTEBOOK, "label_detector", tmp_path)


def test_settings_come_from_the_environment_and_labels_get_the_pipeline_shape(detector):
    event = {"bucket": "b-123", "key": "images/abc.png", "id": "abc", "size": 1}
    with Stubber(detector.rekognition) as stub:
        stub.add_response("detect_labels", DETECTED, {
            "Image": {"S3Object": {"Bucket": "b-123", "Name": "images/abc.png"}}, "MaxLabels": 5, "MinConfidence": 72.5,
        })
        result = detector.handler(event, None)
    assert result == {
        "labels": [
            {"name": "Cat", "confidence": 98.12, "parents": ["Animal", "Pet"],
             "instances": [{"box": {"left": 0.1, "top": 0.2, "width": 0.3123, "height": 0.4}, "confidence": 97.0}]},
            {"name": "Indoors", "confidence": 80.5, "parents": [], "instances": []},
            {"name": "Furniture", "confidence": 75.0, "parents": [], "instances": []},
        ],
        "model_version": "3.0",
        "analysis": {"downscaled": False},
    }


def test_defaults_without_settings(wb, monkeypatch, tmp_path):
    monkeypatch.delenv("MAX_LABELS", raising=False)
    monkeypatch.delenv("MIN_CONFIDENCE", raising=False)
    detector = load_function(NOTEBOOK, "label_detector", tmp_path)
    assert (detector.MAX_LABELS, detector.MIN_CONFIDENCE) == (10, 70.0)


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException",
                                  "InternalServerError", "AccessDeniedException"])
def test_a_refusal_is_raised_as_a_class_named_after_the_error_code(detector, code):
    with Stubber(detector.rekognition) as stub:
        stub.add_client_error("detect_labels", service_error_code=code, service_message="try later",
                              http_status_code=400)
        with pytest.raises(detector.RekognitionError) as raised:
            detector.handler({"bucket": "b-123", "key": "images/x.png"}, None)
    assert type(raised.value).__name__ == code  # what Lambda reports as errorType, and Retry/Catch match
    assert str(raised.value) == "try later (s3://b-123/images/x.png)"
    assert detector.error_class(code) is type(raised.value)


def test_a_label_without_box_or_parents_has_empty_lists(detector):
    assert detector.label({"Name": "Sky", "Confidence": 90.0}) == {
        "name": "Sky", "confidence": 90.0, "parents": [], "instances": []}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("images/x.png", "the event must be a JSON object, got str"),
        ({}, "the event must give 'bucket' as a non-empty string, got None"),
        ({"bucket": "b"}, "the event must give 'key' as a non-empty string, got None"),
        ({"bucket": "b", "key": ""}, "the event must give 'key' as a non-empty string, got ''"),
        ({"bucket": ["b"], "key": "k"}, r"the event must give 'bucket' as a non-empty string, got \['b'\]"),
    ],
)
def test_an_event_without_bucket_and_key_is_refused_before_rekognition(detector, event, message):
    with Stubber(detector.rekognition):  # no response queued: any call to Rekognition would fail the test
        with pytest.raises(detector.InvalidEvent, match=message):
            detector.handler(event, None)


def test_a_stored_image_gets_labels_from_the_local_cloud(detector, stored):
    result = detector.handler(stored("chelsea.png", (workspace.DATA_DIR / "chelsea.png").read_bytes()), None)
    assert result["model_version"] and "Cat" in [label["name"] for label in result["labels"]], result
    for label in result["labels"]:
        assert set(label) == {"name", "confidence", "parents", "instances"} and label["confidence"] >= 72.5


def test_min_confidence_is_honoured(wb, monkeypatch, tmp_path, stored):
    monkeypatch.setenv("MIN_CONFIDENCE", "100")
    strict = load_function(NOTEBOOK, "label_detector", tmp_path)
    assert strict.handler(stored("green.png", _png((120, 90))), None)["labels"] == []


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("missing.png", None, "InvalidS3ObjectException"),
        ("truncated.png", (BAD / "truncated.png").read_bytes(), "InvalidImageFormatException"),
        ("not_an_image.png", (BAD / "not_an_image.png").read_bytes(), "InvalidImageFormatException"),
        ("tiny.png", (BAD / "tiny.png").read_bytes(), "InvalidParameterException"),
    ],
)
def test_rekognition_refusals_reach_the_caller_by_name(detector, stored, bucket, name, data, code):
    event = stored(name, data) if data is not None else {"bucket": bucket, "key": f"images/{name}"}
    with pytest.raises(detector.RekognitionError) as raised:
        detector.handler(event, None)
    assert type(raised.value).__name__ == code
    assert str(raised.value).endswith(f"(s3://{bucket}/images/{name})")


# --- too large for DetectLabels: downscaled with Pillow, the original kept (issue 4, point 5) ----


def test_an_image_wider_than_rekognition_takes_is_analysed_from_a_downscaled_copy(detector, stored, wb, bucket):
    original = (workspace.DATA_DIR / "large" / "panorama.jpg").read_bytes()
    event = stored("panorama.jpg", original)
    result = detector.handler(event, None)
    assert result["analysis"] == {"downscaled": True, "width": 4096, "height": 307,
                                  "original": {"width": 12_000, "height": 900}}
    # The local cloud's DetectLabels checked the copy's bytes and looked at it.
    assert "Tripod" in {label["name"] for label in result["labels"]}
    kept = wb.client("s3").get_object(Bucket=bucket, Key="images/panorama.jpg")["Body"].read()
    assert kept == original


def test_after_the_s3_object_is_refused_a_jpeg_copy_under_5_mb_is_sent_as_bytes(detector, stored):
    event = stored("tall.png", _png((90, 10_500)))
    sent = []
    detector.rekognition.meta.events.register("provide-client-params.rekognition.DetectLabels",
                                              lambda params, **_: sent.append(params["Image"]))
    with Stubber(detector.rekognition) as stub:
        stub.add_client_error("detect_labels", "ImageTooLargeException", "Image size is too large.")
        stub.add_response("detect_labels", DETECTED)
        result = detector.handler(event, None)
    assert sent[0] == {"S3Object": {"Bucket": event["bucket"], "Name": event["key"]}}
    copy = sent[1]["Bytes"]
    assert len(copy) <= 5 * 1024 * 1024 and copy.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(copy)).size == (35, 4096)
    assert result["analysis"] == {"downscaled": True, "width": 35, "height": 4096,
                                  "original": {"width": 90, "height": 10_500}}
    assert result["labels"][0]["name"] == "Cat"


def test_other_refusals_are_not_downscaled(detector, stored):
    event = stored("tiny-again.png", (BAD / "tiny.png").read_bytes())
    with pytest.raises(detector.RekognitionError) as raised:
        detector.handler(event, None)
    assert type(raised.value).__name__ == "InvalidParameterException"


# --- memory: decoding is what costs it (issue 9, point 6) ------------------------------------


def test_an_image_whose_pixels_would_not_fit_the_memory_is_refused_before_decoding(wb, monkeypatch, tmp_path, stored):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")  # what Lambda tells a 256 MB function
    detector = load_function(NOTEBOOK, "label_detector", tmp_path)
    event = stored("wide-rgb.png", _png((10_001, 4000)))
    with Stubber(detector.rekognition) as stub:
        stub.add_client_error("detect_labels", "ImageTooLargeException", "Image size is too large.")
        with pytest.raises(detector.ImageTooLargeToDownscale) as raised:
            detector.handler(event, None)
    assert str(raised.value) == ("decoding the 10001 x 4000 image takes about 305 MiB, more than the 128 MiB "
                                 "this function's 256 MB leave for it: deploy it with more memory")


def test_a_jpeg_is_decoded_reduced_so_it_needs_less(wb, monkeypatch, tmp_path, stored):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    detector = load_function(NOTEBOOK, "label_detector", tmp_path)
    out = io.BytesIO()
    Image.new("RGB", (10_001, 4000), (90, 140, 60)).save(out, "JPEG")
    event = stored("wide.jpg", out.getvalue())
    with Stubber(detector.rekognition) as stub:
        stub.add_client_error("detect_labels", "ImageTooLargeException", "Image size is too large.")
        stub.add_response("detect_labels", DETECTED)
        result = detector.handler(event, None)  # decoded at half scale: 5001 x 2000, 76 MiB with margin
    assert result["analysis"] == {"downscaled": True, "width": 4096, "height": 1638,
                                  "original": {"width": 10_001, "height": 4000}}


def test_the_issue_png_stays_well_under_the_memory_notebook_02_gives_the_function():
    # A 10001x4000 RGB PNG peaked at 411-448 MiB in a 256 MB function; measured in a fresh
    # process, as Lambda runs it (benchmarks/label_detector_memory.py prints all its figures).
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(workspace.REPO_ROOT / "benchmarks" / "label_detector_memory.py"),
                           "--image", "png-rgb", "--json"], capture_output=True, text=True, check=True, timeout=120)
    measured = json.loads(done.stdout)["png-rgb"]
    assert measured["outcome"]["downscaled"] is True
    assert measured["peak_mib"] < 0.4 * measured["memory_mb"], measured
