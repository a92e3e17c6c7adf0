"""Rekognition DetectLabels against the local cloud, through boto3: AWS's input checks.

The labels themselves are moto's canned set (one label, "Mobile Phone", confidence
99.9364013671875), so label *ordering* over several labels is shown in the unit tests of
``select_labels``; here every count and threshold is exact against that one label.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from helpers.localcloud.rekognition.checks import MAX_INLINE_BYTES, MAX_S3_OBJECT_BYTES

from . import rekognition_images as images

S3_MESSAGE = "Unable to get object metadata from S3. Check object key, region and/or access permissions."
FORMAT_MESSAGE = "Request has invalid image format"
CANNED_LABEL = "Mobile Phone"
CANNED_CONFIDENCE = 99.9364013671875


@pytest.fixture(scope="module")
def rekognition(client):
    return client("rekognition")


@pytest.fixture(scope="module")
def unvalidated(localcloud):
    """A client that sends what boto3 would refuse locally (values below a model minimum),
    as other SDKs and raw HTTP can."""
    cfg = Config(retries={"max_attempts": 1}, parameter_validation=False)
    return boto3.client("rekognition", endpoint_url=localcloud, region_name="us-east-1", config=cfg)


@pytest.fixture(scope="module")
def s3(client):
    return client("s3")


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    name = f"rekognition-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for key, body in {
        "cat.jpg": images.jpeg(),
        "cat.png": images.png(),
        "notes.txt": b"these are not the pixels you are looking for",
        "anim.gif": images.encode("GIF"),
        "cut.png": images.png()[:-20],
    }.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name


def s3_image(bucket: str, key: str) -> dict:
    return {"S3Object": {"Bucket": bucket, "Name": key}}


def error_of(call, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def label_names(answer: dict) -> list[str]:
    return [label["Name"] for label in answer["Labels"]]


# --- the S3 object --------------------------------------------------------------------


def test_missing_object_is_invalid_s3_object(rekognition, bucket):
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "nope.jpg")) == (
        "InvalidS3ObjectException",
        S3_MESSAGE,
        400,
    )


def test_missing_bucket_is_invalid_s3_object(rekognition):
    assert error_of(rekognition.detect_labels, Image=s3_image(f"no-such-{uuid.uuid4().hex}", "cat.jpg")) == (
        "InvalidS3ObjectException",
        S3_MESSAGE,
        400,
    )


def test_missing_version_is_invalid_s3_object_and_real_version_works(rekognition, s3):
    name = f"rekognition-versions-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=name, Key="v.png", Body=images.png())["VersionId"]
    image = {"S3Object": {"Bucket": name, "Name": "v.png", "Version": "not-a-version"}}
    assert error_of(rekognition.detect_labels, Image=image)[:2] == ("InvalidS3ObjectException", S3_MESSAGE)
    image["S3Object"]["Version"] = version
    assert label_names(rekognition.detect_labels(Image=image)) == [CANNED_LABEL]


def test_bucket_in_another_region_is_invalid_s3_object(rekognition, client):
    s3_west = client("s3")
    name = f"rekognition-west-{uuid.uuid4().hex[:8]}"
    s3_west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3_west.put_object(Bucket=name, Key="cat.png", Body=images.png())
    assert error_of(rekognition.detect_labels, Image=s3_image(name, "cat.png"))[:2] == (
        "InvalidS3ObjectException",
        S3_MESSAGE,
    )


# --- the image format -----------------------------------------------------------------


def test_text_object_is_invalid_image_format(rekognition, bucket):
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "notes.txt")) == (
        "InvalidImageFormatException",
        FORMAT_MESSAGE,
        400,
    )


def test_gif_object_is_invalid_image_format(rekognition, bucket):
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "anim.gif"))[:2] == (
        "InvalidImageFormatException",
        FORMAT_MESSAGE,
    )


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "WEBP", "BMP"])
def test_other_formats_inline_are_invalid_image_format(rekognition, fmt):
    assert error_of(rekognition.detect_labels, Image={"Bytes": images.encode(fmt)})[:2] == (
        "InvalidImageFormatException",
        FORMAT_MESSAGE,
    )


def test_truncated_png_object_is_invalid_image_format(rekognition, bucket):
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "cut.png"))[:2] == (
        "InvalidImageFormatException",
        FORMAT_MESSAGE,
    )


def test_truncated_jpeg_inline_is_invalid_image_format(rekognition):
    data = images.jpeg()
    assert error_of(rekognition.detect_labels, Image={"Bytes": data[: len(data) // 2]})[:2] == (
        "InvalidImageFormatException",
        FORMAT_MESSAGE,
    )


def test_png_named_jpg_is_accepted_by_its_bytes(rekognition, s3, bucket):
    s3.put_object(Bucket=bucket, Key="really-a-png.jpg", Body=images.png(), ContentType="image/jpeg")
    assert label_names(rekognition.detect_labels(Image=s3_image(bucket, "really-a-png.jpg"))) == [CANNED_LABEL]


# --- sizes and dimensions -------------------------------------------------------------


def test_s3_object_over_15_mb_is_image_too_large(rekognition, s3, bucket):
    size = MAX_S3_OBJECT_BYTES + 1
    s3.put_object(Bucket=bucket, Key="huge.png", Body=images.padded(images.png(), size))
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "huge.png")) == (
        "ImageTooLargeException",
        f"S3 object size {size} bytes exceeds the maximum image size of 15728640 bytes",
        400,
    )


def test_s3_object_of_exactly_15_mb_is_accepted(rekognition, s3, bucket):
    s3.put_object(Bucket=bucket, Key="limit.png", Body=images.padded(images.png(), MAX_S3_OBJECT_BYTES))
    assert label_names(rekognition.detect_labels(Image=s3_image(bucket, "limit.png"))) == [CANNED_LABEL]


def test_inline_bytes_over_5_mb_fail_model_validation(rekognition):
    size = MAX_INLINE_BYTES + 1
    assert error_of(rekognition.detect_labels, Image={"Bytes": images.padded(images.jpeg(), size)}) == (
        "ValidationException",
        f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]' "
        "at 'image.bytes' failed to satisfy constraint: Member must have length less than or equal to 5242880",
        400,
    )


def test_inline_bytes_of_exactly_5_mb_are_accepted(rekognition):
    answer = rekognition.detect_labels(Image={"Bytes": images.padded(images.jpeg(), MAX_INLINE_BYTES)})
    assert label_names(answer) == [CANNED_LABEL]


def test_empty_inline_bytes_fail_model_validation(rekognition):
    assert error_of(rekognition.detect_labels, Image={"Bytes": b""})[:2] == (
        "ValidationException",
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'image.bytes' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1",
    )


def test_side_over_10000_pixels_is_image_too_large(rekognition):
    data = images.encode("PNG", (10001, 80), mode="L")
    assert error_of(rekognition.detect_labels, Image={"Bytes": data})[:2] == (
        "ImageTooLargeException",
        "Input image dimensions 10001 x 80 exceed maximum dimension size of 10000 pixels",
    )


def test_side_under_80_pixels_is_invalid_parameter(rekognition):
    assert error_of(rekognition.detect_labels, Image={"Bytes": images.png((79, 100))})[:2] == (
        "InvalidParameterException",
        "Request has Invalid Parameters",
    )


# --- valid images ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["cat.jpg", "cat.png"])
def test_valid_image_from_s3_gets_the_canned_labels(rekognition, bucket, key):
    answer = rekognition.detect_labels(Image=s3_image(bucket, key))
    assert [(label["Name"], label["Confidence"]) for label in answer["Labels"]] == [(CANNED_LABEL, CANNED_CONFIDENCE)]
    assert answer["LabelModelVersion"] == "3.0"


@pytest.mark.parametrize("data", [images.jpeg(), images.png()], ids=["jpeg", "png"])
def test_valid_image_inline_gets_the_canned_labels(rekognition, data):
    assert label_names(rekognition.detect_labels(Image={"Bytes": data})) == [CANNED_LABEL]


# --- MaxLabels and MinConfidence ------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 1),  # default MinConfidence 55
        ({"MaxLabels": 0}, 0),
        ({"MaxLabels": 1}, 1),
        ({"MaxLabels": 5000}, 1),
        ({"MinConfidence": 0}, 1),
        ({"MinConfidence": 99.93}, 1),
        ({"MinConfidence": CANNED_CONFIDENCE}, 1),  # "lower than" is excluded, equal is kept
        ({"MinConfidence": 99.94}, 0),
        ({"MinConfidence": 100}, 0),
        ({"MinConfidence": 50, "MaxLabels": 0}, 0),
    ],
)
def test_max_labels_and_min_confidence_are_honoured(rekognition, bucket, params, expected):
    answer = rekognition.detect_labels(Image=s3_image(bucket, "cat.jpg"), **params)
    assert len(answer["Labels"]) == expected


def test_min_confidence_over_100_fails_model_validation(rekognition, bucket):
    assert error_of(rekognition.detect_labels, Image=s3_image(bucket, "cat.jpg"), MinConfidence=101) == (
        "ValidationException",
        "1 validation error detected: Value '101.0' at 'minConfidence' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
        400,
    )


def test_boto3_refuses_values_below_the_model_minimum_before_sending(rekognition, bucket):
    with pytest.raises(ParamValidationError, match="MaxLabels"):
        rekognition.detect_labels(Image=s3_image(bucket, "cat.jpg"), MaxLabels=-1)
    with pytest.raises(ParamValidationError, match="MinConfidence"):
        rekognition.detect_labels(Image=s3_image(bucket, "cat.jpg"), MinConfidence=-0.5)


def test_values_below_the_model_minimum_fail_validation_at_the_service(unvalidated, bucket):
    assert error_of(unvalidated.detect_labels, Image=s3_image(bucket, "cat.jpg"), MaxLabels=-1, MinConfidence=-0.5) == (
        "ValidationException",
        "2 validation errors detected: "
        "Value '-1' at 'maxLabels' failed to satisfy constraint: Member must have value greater than or equal to 0; "
        "Value '-0.5' at 'minConfidence' failed to satisfy constraint: Member must have value greater than or equal to 0",
        400,
    )


def test_bad_parameters_fail_before_the_s3_lookup(rekognition):
    # Model validation runs before the service looks for the object.
    code, message, _ = error_of(rekognition.detect_labels, Image=s3_image("no-such-bucket-x", "k"), MinConfidence=150)
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value '150.0' at 'minConfidence' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    )


# --- the image source -----------------------------------------------------------------


def test_both_bytes_and_s3_object_is_invalid_parameter(rekognition, bucket):
    image = {"Bytes": images.png(), **s3_image(bucket, "cat.png")}
    assert error_of(rekognition.detect_labels, Image=image)[:2] == (
        "InvalidParameterException",
        "Request has Invalid Parameters",
    )


def test_empty_image_is_invalid_parameter(rekognition):
    assert error_of(rekognition.detect_labels, Image={})[:2] == (
        "InvalidParameterException",
        "Request has Invalid Parameters",
    )


# --- the wire format ------------------------------------------------------------------


def _post(endpoint: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        endpoint + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "RekognitionService.DetectLabels",
            # moto reads account and region from the credential scope; it checks no signature.
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/rekognition/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_service_errors_have_aws_body_fields(localcloud, bucket):
    status, body = _post(localcloud, json.dumps({"Image": s3_image(bucket, "nope.jpg")}).encode())
    assert status == 400
    assert sorted(body) == ["Code", "Logref", "Message", "__type"]
    assert (body["__type"], body["Code"], body["Message"]) == (
        "InvalidS3ObjectException",
        "InvalidS3ObjectException",
        S3_MESSAGE,
    )


def test_validation_errors_have_coral_body_fields(localcloud, bucket):
    status, body = _post(localcloud, json.dumps({"Image": s3_image(bucket, "cat.jpg"), "MinConfidence": 100.5}).encode())
    assert (status, sorted(body), body["__type"]) == (400, ["__type", "message"], "ValidationException")
    assert "Value '100.5' at 'minConfidence'" in body["message"]


def test_unreadable_body_is_serialization_exception(localcloud):
    status, body = _post(localcloud, b'{"Image": {"Bytes": "***not base64***"}}')
    assert (status, body["__type"]) == (400, "SerializationException")
