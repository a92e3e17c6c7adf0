"""Unit tests of the pure DetectLabels checks: no server, no moto state."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from localcloud.rekognition import checks
from localcloud.rekognition.exceptions import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
    InvalidS3ObjectException,
    SerializationException,
    ValidationException,
)

from . import rekognition_images as images


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def s3_body(**extra) -> dict:
    return {"Image": {"S3Object": {"Bucket": "photos", "Name": "cat.jpg"}}, **extra}


def violations_of(body: dict) -> list[str]:
    with pytest.raises(ValidationException) as info:
        checks.parse_request(body)
    return info.value.violations


# --- parse_request: defaults and values -----------------------------------------------


def test_defaults_are_min_confidence_55_and_max_labels_1000():
    request = checks.parse_request(s3_body())
    assert (request.min_confidence, request.max_labels) == (55.0, 1000)
    assert request.s3_object == checks.S3ObjectRef("photos", "cat.jpg", None)
    assert request.image_bytes is None


def test_inline_bytes_are_base64_decoded():
    data = images.png()
    request = checks.parse_request({"Image": {"Bytes": b64(data)}})
    assert (request.image_bytes, request.s3_object) == (data, None)


def test_max_labels_above_1000_is_capped_not_refused():
    assert checks.parse_request(s3_body(MaxLabels=5000)).max_labels == 1000
    assert checks.parse_request(s3_body(MaxLabels=0)).max_labels == 0


def test_min_confidence_is_held_as_a_32_bit_float():
    # 100.00000001 is 100.0 as a float32, so AWS's range check passes it.
    assert checks.parse_request(s3_body(MinConfidence=100.00000001)).min_confidence == 100.0
    assert checks.parse_request(s3_body(MinConfidence=0)).min_confidence == 0.0


# --- parse_request: model validation --------------------------------------------------


def test_inline_bytes_over_5_mb_break_the_model():
    size = checks.MAX_INLINE_BYTES + 1
    assert violations_of({"Image": {"Bytes": b64(b"\0" * size)}}) == [
        f"Value 'java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]' at 'image.bytes' "
        "failed to satisfy constraint: Member must have length less than or equal to 5242880"
    ]


def test_inline_bytes_of_exactly_5_mb_fit_the_model():
    body = {"Image": {"Bytes": b64(b"\0" * checks.MAX_INLINE_BYTES)}}
    assert len(checks.parse_request(body).image_bytes) == 5242880


def test_empty_inline_bytes_break_the_model():
    assert violations_of({"Image": {"Bytes": ""}}) == [
        "Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'image.bytes' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1"
    ]


@pytest.mark.parametrize(
    ("value", "shown", "bound"),
    [
        (101, "101.0", "less than or equal to 100"),
        (100.5, "100.5", "less than or equal to 100"),
        (1e7, "1.0E7", "less than or equal to 100"),
        (1e39, "Infinity", "less than or equal to 100"),
        (-1, "-1.0", "greater than or equal to 0"),
        (-0.001, "-0.001", "greater than or equal to 0"),
    ],
)
def test_min_confidence_out_of_range_breaks_the_model(value, shown, bound):
    assert violations_of(s3_body(MinConfidence=value)) == [
        f"Value '{shown}' at 'minConfidence' failed to satisfy constraint: Member must have value {bound}"
    ]


@pytest.mark.parametrize("value", [0, 0.0, 55, 99.99, 100, 100.0])
def test_min_confidence_in_range_fits_the_model(value):
    checks.parse_request(s3_body(MinConfidence=value))


def test_negative_max_labels_breaks_the_model():
    assert violations_of(s3_body(MaxLabels=-3)) == [
        "Value '-3' at 'maxLabels' failed to satisfy constraint: Member must have value greater than or equal to 0"
    ]


def test_every_violation_is_reported_in_one_message():
    with pytest.raises(ValidationException) as info:
        checks.parse_request(s3_body(MaxLabels=-1, MinConfidence=200))
    assert info.value.message == (
        "2 validation errors detected: "
        "Value '-1' at 'maxLabels' failed to satisfy constraint: Member must have value greater than or equal to 0; "
        "Value '200.0' at 'minConfidence' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    )


def test_missing_image_breaks_the_model():
    assert violations_of({"MaxLabels": 3}) == [
        "Value null at 'image' failed to satisfy constraint: Member must not be null"
    ]


def test_s3_object_fields_have_the_models_lengths_and_pattern():
    body = {"Image": {"S3Object": {"Bucket": "a!", "Name": "", "Version": ""}}}
    assert violations_of(body) == [
        "Value 'a!' at 'image.s3Object.bucket' failed to satisfy constraint: "
        "Member must have length greater than or equal to 3",
        "Value 'a!' at 'image.s3Object.bucket' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [0-9A-Za-z\\.\\-_]*",
        "Value '' at 'image.s3Object.name' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
        "Value '' at 'image.s3Object.version' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ]


@pytest.mark.parametrize(
    "body",
    [
        s3_body(MaxLabels="5"),
        s3_body(MaxLabels=True),
        s3_body(MaxLabels=2.5),
        s3_body(MinConfidence="high"),
        {"Image": ["not", "a", "structure"]},
        {"Image": {"S3Object": {"Bucket": 7, "Name": "k"}}},
        {"Image": {"Bytes": "***"}},
    ],
)
def test_values_of_the_wrong_type_cannot_be_read(body):
    with pytest.raises(SerializationException):
        checks.parse_request(body)


@pytest.mark.parametrize("image", [{}, {"Bytes": "iVBORw==", "S3Object": {"Bucket": "photos", "Name": "k"}}])
def test_exactly_one_image_source_is_required(image):
    with pytest.raises(InvalidParameterException) as info:
        checks.parse_request({"Image": image})
    assert info.value.message == "Request has Invalid Parameters"


# --- java_float_string ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (101, "101.0"),
        (100.5, "100.5"),
        (100.1, "100.1"),
        (0.001, "0.001"),
        (1.5e-5, "1.5E-5"),
        (12345678.0, "1.2345678E7"),
        (-0.5, "-0.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1e39, "Infinity"),
        (-1e39, "-Infinity"),
        (float("nan"), "NaN"),
    ],
)
def test_java_float_string(value, text):
    assert checks.java_float_string(value) == text


# --- sizes ----------------------------------------------------------------------------


def test_s3_object_size_limit_is_15_mib_inclusive():
    checks.check_s3_object_size(15 * 1024 * 1024)
    with pytest.raises(ImageTooLargeException) as info:
        checks.check_s3_object_size(15 * 1024 * 1024 + 1)
    assert info.value.message == "S3 object size 15728641 bytes exceeds the maximum image size of 15728640 bytes"


# --- classify_image: accepted ---------------------------------------------------------


def _mpo() -> bytes:
    # Phone cameras write MPO: a JPEG with more frames appended. It is still a JPEG.
    first = Image.linear_gradient("L").resize((100, 100)).convert("RGB")
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[first.rotate(90)])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (images.jpeg(), "JPEG"),
        (images.encode("JPEG", progressive=True), "JPEG"),
        (images.encode("JPEG", mode="L"), "JPEG"),
        (images.encode("JPEG", mode="CMYK"), "JPEG"),
        (_mpo(), "JPEG"),
        (images.png(), "PNG"),
        (images.encode("PNG", mode="RGBA"), "PNG"),
        (images.encode("PNG", mode="P"), "PNG"),
        (images.encode("PNG", mode="I;16"), "PNG"),
        (images.encode("PNG", mode="1"), "PNG"),
        (images.padded(images.png(), 4096), "PNG"),  # bytes after IEND are ignored
        (images.padded(images.jpeg(), 4096), "JPEG"),  # bytes after EOI are ignored
    ],
    ids=["jpeg", "progressive", "grey-jpeg", "cmyk-jpeg", "mpo", "png", "rgba", "palette", "16-bit", "1-bit",
         "png+padding", "jpeg+padding"],
)
def test_jpeg_and_png_are_accepted(data, fmt):
    assert checks.classify_image(data) == checks.ImageInfo(fmt, 100, 100)


def test_the_format_comes_from_the_bytes():
    assert checks.sniff_format(images.png()) == "PNG"
    assert checks.sniff_format(images.jpeg()) == "JPEG"
    assert checks.sniff_format(images.encode("GIF")) is None
    assert checks.sniff_format(b"") is None


# --- classify_image: refused ----------------------------------------------------------


def _png_with_broken_idat_crc() -> bytes:
    data = bytearray(images.png())
    at = data.index(b"IDAT") + 4  # first byte of the compressed pixel data
    data[at] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        images.encode("GIF"),
        images.encode("TIFF"),
        images.encode("WEBP"),
        images.encode("BMP"),
        images.encode("ICO", size=(64, 64)),
        b"",
        b"plain text",
        b"\xff\xd8\xff",  # a JPEG's first three bytes only
        images.png()[:8],  # the PNG signature only
        images.png()[:33],  # signature and IHDR, no pixels
        images.png()[: len(images.png()) // 2],
        images.png()[:-12],  # the IEND chunk lost
        images.png()[:-20],  # IEND and the end of IDAT lost
        images.jpeg()[: len(images.jpeg()) // 2],
        images.jpeg()[:-2],  # the EOI marker lost
        _png_with_broken_idat_crc(),
    ],
    ids=["gif", "tiff", "webp", "bmp", "ico", "empty", "text", "jpeg-magic-only", "png-signature-only",
         "png-header-only", "png-half", "png-no-iend", "png-cut-idat", "jpeg-half", "jpeg-no-eoi", "png-bad-crc"],
)
def test_anything_but_a_whole_jpeg_or_png_is_invalid_image_format(data):
    with pytest.raises(InvalidImageFormatException) as info:
        checks.classify_image(data)
    assert info.value.message == "Request has invalid image format"


# --- classify_image: dimensions -------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 80), (10000, 80), (80, 10000)])
def test_sides_from_80_to_10000_pixels_are_accepted(size):
    assert checks.classify_image(images.encode("PNG", size, mode="L")) == checks.ImageInfo("PNG", *size)


@pytest.mark.parametrize("size", [(10001, 80), (80, 10001)])
def test_a_side_over_10000_pixels_is_image_too_large(size):
    with pytest.raises(ImageTooLargeException) as info:
        checks.classify_image(images.encode("PNG", size, mode="L"))
    assert info.value.message == (
        f"Input image dimensions {size[0]} x {size[1]} exceed maximum dimension size of 10000 pixels"
    )


@pytest.mark.parametrize("size", [(79, 80), (80, 79), (1, 1)])
def test_a_side_under_80_pixels_is_invalid_parameter(size):
    with pytest.raises(InvalidParameterException) as info:
        checks.classify_image(images.encode("JPEG", size))
    assert info.value.message == "Request has Invalid Parameters"


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose IHDR (with a correct CRC) announces another size: what a
    decompression bomb looks like to anything that reads the header."""
    data = bytearray(images.png())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(monkeypatch):
    def must_not_decode(*args):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(checks, "_decode", must_not_decode)
    with pytest.raises(ImageTooLargeException) as info:
        checks.classify_image(_png_claiming(30000, 30000))
    assert info.value.message == "Input image dimensions 30000 x 30000 exceed maximum dimension size of 10000 pixels"


def test_a_header_that_lies_about_a_small_size_is_invalid_image_format():
    # Claims 10000 x 10000 (allowed) but holds 100 x 100 pixels of data: decoding fails.
    with pytest.raises(InvalidImageFormatException):
        checks.classify_image(_png_claiming(10000, 10000))


# --- select_labels --------------------------------------------------------------------

LABELS = [
    {"Name": "Tree", "Confidence": 60.0},
    {"Name": "Cat", "Confidence": 99.5},
    {"Name": "Grass", "Confidence": 54.9},
    {"Name": "Pet", "Confidence": 99.5},
    {"Name": "Animal", "Confidence": 97.25},
]


def names(labels) -> list[str]:
    return [label["Name"] for label in labels]


def test_labels_are_sorted_by_confidence_descending_ties_in_moto_order():
    assert names(checks.select_labels(LABELS, 0, 1000)) == ["Cat", "Pet", "Animal", "Tree", "Grass"]


def test_labels_below_min_confidence_are_dropped_equal_is_kept():
    assert names(checks.select_labels(LABELS, 55.0, 1000)) == ["Cat", "Pet", "Animal", "Tree"]
    assert names(checks.select_labels(LABELS, 97.25, 1000)) == ["Cat", "Pet", "Animal"]
    assert names(checks.select_labels(LABELS, 99.6, 1000)) == []


def test_max_labels_keeps_the_most_confident():
    assert names(checks.select_labels(LABELS, 0, 2)) == ["Cat", "Pet"]
    assert names(checks.select_labels(LABELS, 60, 3)) == ["Cat", "Pet", "Animal"]
    assert checks.select_labels(LABELS, 0, 0) == []


def test_select_labels_does_not_reorder_the_callers_list():
    original = [dict(label) for label in LABELS]
    checks.select_labels(LABELS, 0, 1)
    assert LABELS == original


# --- error shapes ---------------------------------------------------------------------


def test_service_errors_carry_aws_body_fields():
    body = json.loads(InvalidS3ObjectException().get_body())
    assert sorted(body) == ["Code", "Logref", "Message", "__type"]
    assert body["__type"] == body["Code"] == "InvalidS3ObjectException"
    assert body["Message"] == (
        "Unable to get object metadata from S3. Check object key, region and/or access permissions."
    )
    assert InvalidS3ObjectException().code == 400


def test_validation_errors_carry_coral_body_fields():
    error = ValidationException(["one"])
    assert json.loads(error.get_body()) == {
        "__type": "ValidationException",
        "message": "1 validation error detected: one",
    }
    assert ValidationException(["a", "b"]).message == "2 validation errors detected: a; b"
