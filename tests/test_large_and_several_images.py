"""Large images through S3, several images per request, faults, end to end (issue 4, points 2, 3, 5, 6).

Notebooks 00-05 and 07 deploy the pipeline of prefix ``e2e-uploads`` into the test session's
local cloud: their own Lambda code, the committed state machine, the REST API, the
upload-receiver and the bucket's trigger. Every test then talks HTTP only, as a client does:
``POST /images`` (raw or multipart), ``POST /uploads`` and the presigned POST to S3,
``GET /images/{id}``; and counts what each image left behind in each service.
"""

from __future__ import annotations

import io
import random

import pytest
import requests
from PIL import Image

from helpers import api, images, pipeline_client, uploads, workspace
from localcloud import faults
from localcloud import s3 as local_s3
from tests.conftest import deploy_pipeline

PREFIX = "e2e-uploads"
TIMEOUT = 90
BAD = workspace.DATA_DIR / "bad"
PANORAMA = (workspace.DATA_DIR / "large" / "panorama.jpg").read_bytes()


@pytest.fixture(scope="module")
def wb(localcloud, tmp_path_factory):
    return deploy_pipeline(localcloud, PREFIX, ["00", "01", "02", "03", "04", "05", "07"],
                           tmp_path_factory.mktemp("uploads-notebooks"))


@pytest.fixture(scope="module")
def url(wb):
    return api.url_of(wb)


def photo(seed: int, size=(160, 120), kind="JPEG") -> bytes:
    """A small photo-like image, distinct for each seed (a crop of a sample photo)."""
    with Image.open(workspace.DATA_DIR / "astronaut.png") as source:
        crop = source.convert("RGB").crop((seed, seed, seed + size[0], seed + size[1]))
    out = io.BytesIO()
    crop.save(out, kind)
    return out.getvalue()


def counts(wb, image_id: str) -> tuple[int, int, int]:
    """(records, executions, stored objects) of one image."""
    record = wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}},
                                            ConsistentRead=True).get("Item")
    stored = wb.client("s3").list_objects_v2(Bucket=wb.names.bucket, Prefix=f"images/{image_id}")
    return int(record is not None), len(api.executions_named(wb, image_id)), stored.get("KeyCount", 0)


# --- point 5: large images straight to S3 ------------------------------------------------------


def test_a_panorama_refused_by_the_api_goes_through_s3_and_is_analysed_downscaled(wb, url):
    refused = requests.post(f"{url}/images", data=PANORAMA, headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert (refused.status_code, refused.json()["error"]) == (413, "ImageTooLarge")
    sent = uploads.send(url, PANORAMA, "image/jpeg", filename="panorama.jpg")
    assert sent.ok, sent
    record = pipeline_client.wait_for(url, sent.id, TIMEOUT, uploaded=True)
    assert record["status"] == "SUCCEEDED" and record["labels"]
    assert record["image"] == {"bucket": wb.names.bucket, "key": f"images/{sent.id}.jpg",
                               "content_type": "image/jpeg", "size": len(PANORAMA)}
    assert record["analysis"] == {"downscaled": True, "width": 4096, "height": 307,
                                  "original": {"width": 12_000, "height": 900}}
    kept = wb.client("s3").get_object(Bucket=wb.names.bucket, Key=record["image"]["key"])["Body"].read()
    assert kept == PANORAMA
    assert uploads.wait_until_empty(wb, TIMEOUT) == []


def test_an_image_over_4_mib_goes_through_s3_whole(wb, url):
    noise = Image.frombytes("RGB", (1300, 1300), random.Random(7).randbytes(1300 * 1300 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)  # noise does not compress: about 5 MB
    big = out.getvalue()
    assert 4 * 1024 * 1024 < len(big) < 15 * 1024 * 1024
    sent = uploads.send(url, big, "image/png")
    assert sent.ok
    record = pipeline_client.wait_for(url, sent.id, TIMEOUT, uploaded=True)
    assert record["status"] == "SUCCEEDED" and record["image"]["size"] == len(big) and "analysis" not in record


def test_s3_enforces_the_grant_and_stores_nothing_it_refuses(wb, url):
    image = photo(2)
    grant = requests.post(f"{url}/uploads", json={"content_type": "image/jpeg", "size": len(image)}, timeout=60).json()
    before = api.footprint(wb)
    attempts = [
        (dict(data=grant["fields"], files={"file": ("x.jpg", image + b"\0", "image/jpeg")}), 400, "EntityTooLarge"),
        (dict(data=grant["fields"], files={"file": ("x.jpg", image[:-1], "image/jpeg")}), 400, "EntityTooSmall"),
        (dict(data={**grant["fields"], "Content-Type": "image/png"}, files={"file": ("x.jpg", image, "image/png")}),
         403, "AccessDenied"),
        (dict(data={**grant["fields"], "key": "images/forged.jpg"}, files={"file": ("x.jpg", image, "image/jpeg")}),
         403, "AccessDenied"),
    ]
    for form, status, code in attempts:
        answer = requests.post(grant["url"], timeout=60, **form)
        assert answer.status_code == status and f"<Code>{code}</Code>" in answer.text, answer.text
    assert api.footprint(wb) == before
    assert counts(wb, images.image_id(image)) == (0, 0, 0)


def test_an_upload_that_is_no_image_is_recorded_failed_with_the_apis_error(wb, url):
    for name, content_type, code in [("truncated.jpg", "image/jpeg", "InvalidImage"),
                                     ("bomb.png", "image/png", "DecompressionBomb")]:
        sent = uploads.send(url, (BAD / name).read_bytes(), content_type)
        assert sent.ok
        record = pipeline_client.wait_for(url, sent.id, TIMEOUT, uploaded=True)
        assert record["status"] == "FAILED" and record["error"]["Error"] == code, record
        assert counts(wb, sent.id) == (1, 0, 0)
    assert uploads.wait_until_empty(wb, TIMEOUT) == []


def test_the_grant_refuses_types_and_sizes_it_cannot_take(url):
    for request, status, code in [({"content_type": "image/webp", "size": 10}, 415, "UnsupportedMediaType"),
                                  ({"content_type": "image/png", "size": 15 * 1024 * 1024 + 1}, 413, "ImageTooLarge"),
                                  ({"content_type": "image/png", "size": -1}, 400, "InvalidRequest")]:
        answer = requests.post(f"{url}/uploads", json=request, timeout=60)
        assert (answer.status_code, answer.json()["error"]) == (status, code)


def test_uploads_nobody_took_expire_after_a_day(wb, localcloud):
    rules = {rule["Filter"]["Prefix"]: rule["Expiration"]["Days"]
             for rule in wb.client("s3").get_bucket_lifecycle_configuration(Bucket=wb.names.bucket)["Rules"]}
    assert rules == {"staging/": 1, "uploads/": 1}
    stray = f"staging/{images.image_id(b'stray')}"
    wb.client("s3").put_object(Bucket=wb.names.bucket, Key=stray, Body=b"stray")
    # S3 counts a rule's days from the midnight (UTC) after the object was written: two days
    # from now, a 1-day rule has expired whatever was written today.
    expired = local_s3.expire(localcloud, days=2, bucket=wb.names.bucket)
    assert {"bucket": wb.names.bucket, "key": stray} in [{"bucket": e["bucket"], "key": e["key"]} for e in expired]
    assert not any(e["key"].startswith("images/") for e in expired if e["bucket"] == wb.names.bucket)


# --- point 3: one image, one object, one record, one execution, whichever way it came -----------


def test_the_same_image_by_every_door_is_one_object_one_record_one_execution(wb, url):
    image = photo(3)
    image_id = images.image_id(image)
    first = requests.post(f"{url}/images", data=image, headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert first.status_code == 202 and first.json()["id"] == image_id
    again = requests.post(f"{url}/images", data=image, headers={"Content-Type": "image/jpeg"}, timeout=60)
    in_a_form = requests.post(f"{url}/images", files=[("images", ("a.jpg", image, "image/jpeg"))], timeout=60)
    uploaded = uploads.send(url, image, "image/jpeg")
    assert again.json()["id"] == in_a_form.json()["images"][0]["id"] == uploaded.id == image_id
    record = pipeline_client.wait_for(url, image_id, TIMEOUT)
    assert record["status"] == "SUCCEEDED"
    assert uploads.wait_until_empty(wb, TIMEOUT) == []
    assert counts(wb, image_id) == (1, 1, 1)
    got = requests.get(f"{url}/images/{image_id}", timeout=60).json()
    assert got["labels"] == record["labels"] and got["status"] == "SUCCEEDED"


# --- point 6: several images per request --------------------------------------------------------


def test_several_images_in_one_request_each_processed_and_reported_on_its_own(wb, url):
    good = [photo(10), photo(11, kind="PNG"), photo(12)]
    files = [("images", ("a.jpg", good[0], "image/jpeg")), ("images", ("b.gif", (BAD / "drawing.gif").read_bytes(),
                                                                       "image/gif")),
             ("images", ("c.png", good[1], "image/png")), ("images", ("d.png", (BAD / "bad_crc.png").read_bytes(),
                                                                      "image/png")),
             ("images", ("e.jpg", good[2], "image/jpeg"))]
    answer = requests.post(f"{url}/images", files=files, timeout=60)
    assert answer.status_code == 202
    parts = answer.json()["images"]
    assert [p.get("id") for p in parts] == [images.image_id(good[0]), None, images.image_id(good[1]), None,
                                            images.image_id(good[2])]
    assert [p.get("error") for p in parts] == [None, "UnsupportedMediaType", None, "InvalidImage", None]
    for image in good:
        assert pipeline_client.wait_for(url, images.image_id(image), TIMEOUT)["status"] == "SUCCEEDED"
        assert counts(wb, images.image_id(image)) == (1, 1, 1)
    for name in ("drawing.gif", "bad_crc.png"):
        assert counts(wb, images.image_id((BAD / name).read_bytes())) == (0, 0, 0)


def test_a_request_with_too_many_parts_writes_nothing(wb, url):
    before = api.footprint(wb)
    answer = requests.post(f"{url}/images", files=[("images", (f"{i}.jpg", photo(20 + i), "image/jpeg"))
                                                   for i in range(11)], timeout=60)
    assert (answer.status_code, answer.json()["error"]) == (413, "TooManyParts")
    assert api.footprint(wb) == before


# --- point 2: faults inside the workflow, seen through the API ------------------------------------


@pytest.fixture
def no_faults(localcloud):
    faults.clear(localcloud)
    yield
    faults.clear(localcloud)


def test_a_permanent_error_reaches_the_client_as_a_failed_record_with_its_cause(wb, url, localcloud, no_faults):
    image = photo(30)
    image_id = images.image_id(image)
    faults.inject(localcloud, service="rekognition", operation="DetectLabels", error="AccessDeniedException",
                  count=1, match=f"{wb.names.bucket}/images/{image_id}.jpg")
    assert requests.post(f"{url}/images", data=image, headers={"Content-Type": "image/jpeg"},
                         timeout=60).status_code == 202
    record = pipeline_client.wait_for(url, image_id, TIMEOUT)
    assert record["status"] == "FAILED" and record["error"]["Error"] == "AccessDeniedException"
    assert "not authorized" in record["error"]["Cause"] and "labels" not in record
    assert counts(wb, image_id) == (1, 1, 1)  # recorded, not lost: the stored image is kept


def test_throttling_that_outlasts_the_sdk_is_retried_by_the_state_machine_to_success(wb, url, localcloud,
                                                                                    no_faults):
    image = photo(31)
    image_id = images.image_id(image)
    # boto3 inside the label-detector makes 3 attempts; the 4th throttled call fails the Task,
    # and the state machine's Retry runs it again after a backoff.
    rule = faults.inject(localcloud, service="rekognition", operation="DetectLabels", error="ThrottlingException",
                         count=4, match=f"{wb.names.bucket}/images/{image_id}.jpg")
    assert requests.post(f"{url}/images", data=image, headers={"Content-Type": "image/jpeg"},
                         timeout=60).status_code == 202
    record = pipeline_client.wait_for(url, image_id, TIMEOUT)
    # What the crop shows is the model's business (test_rekognition.py); here: the run finished.
    assert record["status"] == "SUCCEEDED" and isinstance(record["labels"], list)
    assert next(r["fired"] for r in faults.rules(localcloud) if r["id"] == rule["id"]) == 4
