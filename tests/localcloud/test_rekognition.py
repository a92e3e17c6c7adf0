"""Rekognition DetectLabels against the local cloud, through boto3.

First AWS's input checks (which images and requests are refused, with which error), on
small generated images; then the labels, on the sample photos in ``data/``: they come
from the vision model looking at each picture, so these tests name what a photo shows
(a cat, an espresso, a tripod, a person) rather than exact confidences, which belong to
the model. The rules that turn model outputs into labels are unit-tested on exact
numbers in ``test_rekognition_labels.py``.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from localcloud.auth import client as signing
from localcloud.rekognition.checks import MAX_INLINE_BYTES, MAX_S3_OBJECT_BYTES
from tests.support import REPO, unique

from . import rekognition_images as images

DATA = REPO / "data"
PHOTOS = ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg")

S3_MESSAGE = "Unable to get object metadata from S3. Check object key, region and/or access permissions."
FORMAT_MESSAGE = "Request has invalid image format"


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
    name = unique("rekognition")
    s3.create_bucket(Bucket=name)
    for key, body in {
        "cat.jpg": images.jpeg(),
        "cat.png": images.png(),
        "notes.txt": b"these are not the pixels you are looking for",
        "anim.gif": images.encode("GIF"),
        "cut.png": images.png()[:-20],
    }.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    for photo in PHOTOS:
        s3.put_object(Bucket=name, Key=f"photos/{photo}", Body=(DATA / photo).read_bytes())
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


def answered(answer: dict) -> bool:
    """The image was accepted and the model answered (whatever it saw in a test gradient)."""
    return answer["LabelModelVersion"].startswith("localcloud mobilenet_v2") and isinstance(answer["Labels"], list)


def labels_of(rekognition, bucket: str, photo: str, **params) -> dict[str, dict]:
    answer = rekognition.detect_labels(Image=s3_image(bucket, f"photos/{photo}"), **params)
    return {label["Name"]: label for label in answer["Labels"]}


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
    name = unique("rekognition-versions")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=name, Key="v.png", Body=images.png())["VersionId"]
    image = {"S3Object": {"Bucket": name, "Name": "v.png", "Version": "not-a-version"}}
    assert error_of(rekognition.detect_labels, Image=image)[:2] == ("InvalidS3ObjectException", S3_MESSAGE)
    image["S3Object"]["Version"] = version
    assert answered(rekognition.detect_labels(Image=image))


def test_bucket_in_another_region_is_invalid_s3_object(rekognition, client):
    s3_west = client("s3")
    name = unique("rekognition-west")
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
    assert answered(rekognition.detect_labels(Image=s3_image(bucket, "really-a-png.jpg")))


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
    assert answered(rekognition.detect_labels(Image=s3_image(bucket, "limit.png")))


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
    assert answered(answer)


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


# --- labels from looking at the picture -------------------------------------------------


def test_cat_photo_is_a_cat_with_animal_among_its_parents(rekognition, bucket):
    found = labels_of(rekognition, bucket, "chelsea.png")
    cat = found["Cat"]
    assert {"Animal", "Mammal", "Pet"} <= {parent["Name"] for parent in cat["Parents"]}
    assert cat["Categories"] == [{"Name": "Animals and Pets"}]
    assert cat["Confidence"] > 90
    (instance,) = cat["Instances"]
    box = instance["BoundingBox"]
    assert sorted(box) == ["Height", "Left", "Top", "Width"]
    assert 0 <= box["Left"] < box["Left"] + box["Width"] <= 1 and 0 <= box["Top"] < box["Top"] + box["Height"] <= 1
    # Each parent is a label of its own, at least as sure as its child (as on AWS).
    for parent in cat["Parents"]:
        assert found[parent["Name"]]["Confidence"] >= cat["Confidence"]


def test_espresso_gets_a_coffee_or_cup_label(rekognition, bucket):
    found = labels_of(rekognition, bucket, "coffee.png", MinConfidence=0)
    assert {"Espresso", "Coffee", "Cup"} & set(found)
    assert [parent["Name"] for parent in found["Espresso"]["Parents"]] == ["Coffee", "Beverage"]


def test_camera_photo_gets_a_tripod(rekognition, bucket):
    found = labels_of(rekognition, bucket, "camera.png")
    assert found["Tripod"]["Confidence"] > 90
    assert found["Tripod"]["Instances"], "the tripod is placed"


def test_astronaut_is_a_person_from_the_face(rekognition, bucket):
    found = labels_of(rekognition, bucket, "astronaut.png")
    person = found["Person"]
    assert person["Parents"] == [] and person["Aliases"] == [{"Name": "Human"}]
    (face,) = person["Instances"]
    # The face is in the upper half of the portrait, and is a small part of it.
    box = face["BoundingBox"]
    assert box["Top"] < 0.5 and box["Width"] * box["Height"] < 0.25
    assert {"Face", "Head"} <= set(found)


def test_different_photos_get_different_top_labels(rekognition, bucket):
    tops = {photo: label_names(rekognition.detect_labels(Image=s3_image(bucket, f"photos/{photo}"), MaxLabels=1))
            for photo in PHOTOS}
    assert len({tuple(names) for names in tops.values()}) == len(PHOTOS), tops


def test_no_raw_model_class_names(rekognition, bucket):
    for photo in PHOTOS:
        for name in labels_of(rekognition, bucket, photo, MinConfidence=0):
            assert name[0].isupper() and "," not in name and not name.startswith("n0"), (photo, name)


def test_a_gradient_is_not_a_cat(rekognition):
    # No hard-coded answer: a picture of nothing much gets no confident labels at all.
    answer = rekognition.detect_labels(Image={"Bytes": images.png((300, 300))}, MinConfidence=90)
    assert "Cat" not in label_names(answer)


def test_s3_object_and_bytes_give_the_same_answer(rekognition, bucket):
    data = (DATA / "coffee.png").read_bytes()
    from_s3 = rekognition.detect_labels(Image=s3_image(bucket, "photos/coffee.png"), MinConfidence=0)
    inline = rekognition.detect_labels(Image={"Bytes": data}, MinConfidence=0)
    assert from_s3["Labels"] == inline["Labels"]
    assert from_s3["LabelModelVersion"] == inline["LabelModelVersion"]


def test_same_bytes_same_answer(rekognition, bucket):
    first = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=0)
    again = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=0)
    assert first["Labels"] == again["Labels"]


def test_label_model_version_names_the_model(rekognition, bucket):
    answer = rekognition.detect_labels(Image=s3_image(bucket, "photos/camera.png"))
    assert "mobilenet_v2" in answer["LabelModelVersion"] and "OpenCV" in answer["LabelModelVersion"]


def test_panorama_tiles_find_each_object(rekognition, s3, bucket):
    s3.put_object(Bucket=bucket, Key="panorama.jpg", Body=(DATA / "large" / "panorama.jpg").read_bytes())
    # 12000 pixels wide is over DetectLabels' 10000: the workbook sends a downscaled copy.
    # Here: its left 9000 pixels, which hold every sample photo at least once.
    from PIL import Image

    with Image.open(DATA / "large" / "panorama.jpg") as strip:
        left = strip.crop((0, 0, 9000, strip.height))
        buffer = __import__("io").BytesIO()
        left.save(buffer, "JPEG", quality=85)
    found = {label["Name"]: label for label in rekognition.detect_labels(Image={"Bytes": buffer.getvalue()})["Labels"]}
    for name in ("Cat", "Tripod", "Espresso", "Person"):
        assert found[name]["Instances"], f"{name} is found and placed in the panorama"
    lefts = sorted(i["BoundingBox"]["Left"] for i in found["Cat"]["Instances"])
    assert len(lefts) >= 2 and lefts[-1] - lefts[0] > 0.3, "each cat in the strip gets its own box"


# --- MaxLabels and MinConfidence ------------------------------------------------------


def test_labels_come_most_confident_first(rekognition, bucket):
    confidences = [label["Confidence"] for label in rekognition.detect_labels(
        Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=0)["Labels"]]
    assert len(confidences) > 3 and confidences == sorted(confidences, reverse=True)


def test_default_min_confidence_is_55(rekognition, bucket):
    default = labels_of(rekognition, bucket, "coffee.png")
    everything = labels_of(rekognition, bucket, "coffee.png", MinConfidence=0)
    assert set(default) == {name for name, label in everything.items() if label["Confidence"] >= 55}
    assert set(default) < set(everything), "MinConfidence 0 shows the less sure labels too"


def test_min_confidence_and_max_labels_shape_the_answer(rekognition, bucket):
    everything = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=0)["Labels"]
    top = everything[0]["Confidence"]
    # MinConfidence equal to a label's confidence keeps it; just above drops it.
    at_top = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=top)
    assert label_names(at_top)[0] == everything[0]["Name"]
    above = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"),
                                      MinConfidence=min(100.0, math.nextafter(top, 101) + 0.001))
    assert everything[0]["Name"] not in label_names(above)
    for max_labels, expected in [(0, 0), (1, 1), (3, 3), (5000, len(everything))]:
        answer = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"),
                                           MinConfidence=0, MaxLabels=max_labels)
        assert label_names(answer) == [label["Name"] for label in everything[:expected]]


# --- Features and Settings --------------------------------------------------------------


def test_inclusion_and_exclusion_filters(rekognition, bucket):
    def names(**general) -> list[str]:
        answer = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), MinConfidence=0,
                                           Features=["GENERAL_LABELS"], Settings={"GeneralLabels": general})
        return label_names(answer)

    everything = names()
    assert names(LabelInclusionFilters=["Cat"]) == ["Cat"]
    assert "Cat" not in names(LabelExclusionFilters=["Cat"]) and "Animal" in names(LabelExclusionFilters=["Cat"])
    animals = names(LabelCategoryInclusionFilters=["Animals and Pets"])
    assert {"Cat", "Animal", "Mammal", "Pet"} <= set(animals) and len(animals) < len(everything)
    assert not {"Cat", "Animal"} & set(names(LabelCategoryExclusionFilters=["Animals and Pets"]))
    assert names(LabelCategoryInclusionFilters=["Animals and Pets"], LabelExclusionFilters=["Cat"]) == [
        name for name in animals if name != "Cat"
    ]


def test_image_properties_alone_gives_no_labels(rekognition, bucket):
    answer = rekognition.detect_labels(Image=s3_image(bucket, "photos/chelsea.png"), Features=["IMAGE_PROPERTIES"])
    assert answer["Labels"] == []


def test_unknown_feature_fails_model_validation(unvalidated, bucket):
    code, message, status = error_of(unvalidated.detect_labels, Image=s3_image(bucket, "photos/chelsea.png"),
                                     Features=["FACES"])
    assert (code, status) == ("ValidationException", 400)
    assert "'features'" in message and "GENERAL_LABELS, IMAGE_PROPERTIES" in message


def test_filter_value_over_50_characters_fails_model_validation(rekognition, bucket):
    code, message, _ = error_of(rekognition.detect_labels, Image=s3_image(bucket, "photos/chelsea.png"),
                                Settings={"GeneralLabels": {"LabelInclusionFilters": ["x" * 51]}})
    assert code == "ValidationException"
    assert "settings.generalLabels.labelInclusionFilters" in message and "less than or equal to 50" in message


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
        "Value '-0.5' at 'minConfidence' failed to satisfy constraint: "
        "Member must have value greater than or equal to 0",
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
    request = signing.signed_request(endpoint, "POST", "/", body, service="rekognition", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "RekognitionService.DetectLabels"})
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
    request = {"Image": s3_image(bucket, "cat.jpg"), "MinConfidence": 100.5}
    status, body = _post(localcloud, json.dumps(request).encode())
    assert (status, sorted(body), body["__type"]) == (400, ["__type", "message"], "ValidationException")
    assert "Value '100.5' at 'minConfidence'" in body["message"]


def test_unreadable_body_is_serialization_exception(localcloud):
    status, body = _post(localcloud, b'{"Image": {"Bytes": "***not base64***"}}')
    assert (status, body["__type"]) == (400, "SerializationException")
