"""The api-receiver, as notebook 05 writes it: proxy events built by hand, against the test local cloud.

Every refused upload must answer its exact status and error code and write nothing: no
record, no staged object, no execution. A stand-in state machine (one Pass state) takes the
place of notebook 04's, so an execution here proves the receiver started it, with the input
docs/pipeline.md names. The last tests go through the real API Gateway data plane.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import runpy
import struct
import zlib
from decimal import Decimal
from types import SimpleNamespace

import boto3
import pytest
import requests
import urllib3

from helpers import api, lambdas, workspace
from tests.conftest import stand_in_pipeline
from tests.notebook_code import function_source, load_function, module_source

NOTEBOOK = "05_api.ipynb"
MODULES = ("image_checks", "multipart_form", "pipeline_start")  # beside the receiver: two provided, one written by 05
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff\xe0"
CONTEXT = SimpleNamespace(aws_request_id="lambda-request-id")
BAD = workspace.DATA_DIR / "bad"
# Valid images written byte by byte (data/bad/make_bad_inputs.py): distinct sizes, distinct ids.
_MAKE = runpy.run_path(str(BAD / "make_bad_inputs.py"))
make_png, make_jpeg = _MAKE["png"], _MAKE["jpeg_grey"]


@pytest.fixture(scope="module")
def wb(localcloud):
    return stand_in_pipeline(localcloud, "api-rx-test")


def _environment(wb, **overrides):
    return {"BUCKET_NAME": wb.names.bucket, "TABLE_NAME": wb.names.table,
            "STATE_MACHINE_ARN": wb.names.state_machine_arn, **overrides}


@pytest.fixture(scope="module")
def receiver(wb, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _environment(wb).items():
            patch.setenv(key, value)
        return load_function(NOTEBOOK, "api_receiver", tmp_path_factory.mktemp("api_receiver"),
                             modules=MODULES)


def post(receiver, body: bytes | None, content_type: str | None = "image/png", *, base64_encoded=True,
         header="Content-Type"):
    """POST /images as API Gateway's proxy integration delivers it."""
    if body is None:
        encoded = None
    else:
        encoded = base64.b64encode(body).decode() if base64_encoded else body.decode("utf-8", "replace")
    event = {
        "resource": "/images", "path": "/images", "httpMethod": "POST",
        "headers": {header: content_type} if content_type is not None else None,
        "pathParameters": None, "requestContext": {"requestId": "gateway-request-id", "stage": "v1"},
        "body": encoded, "isBase64Encoded": base64_encoded and body is not None,
    }
    return _answer(receiver.handler(event, CONTEXT))


def get(receiver, image_id: str, method="GET", resource="/images/{id}", headers=None):
    event = {"resource": resource, "path": f"/images/{image_id}", "httpMethod": method, "headers": None,
             "pathParameters": {"id": image_id}, "requestContext": {"requestId": "gateway-request-id"},
             "body": None, "isBase64Encoded": False}
    return _answer(receiver.handler(event, CONTEXT), headers)


def _answer(response, headers=None):
    assert set(response) == {"statusCode", "headers", "body"}
    assert response["headers"] == {"Content-Type": "application/json", **(headers or {})}
    return response["statusCode"], json.loads(response["body"])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record(wb, image_id):
    return wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}},
                                          ConsistentRead=True).get("Item")


def staged(wb, image_id):
    try:
        return wb.client("s3").get_object(Bucket=wb.names.bucket, Key=f"staging/{image_id}")["Body"].read()
    except wb.client("s3").exceptions.NoSuchKey:
        return None


# --- refused: exact status and code, nothing written ---------------------------------------

BIG = PNG + bytes(4 * 1024 * 1024 - len(PNG) + 1)
GOOD_PNG, GOOD_JPEG = make_png(96, 90), make_jpeg(96, 88)


def bad(name: str) -> bytes:
    return (BAD / name).read_bytes()


REFUSED = {
    "text sent as image/png": (dict(body=b"This is a text file with a .png name.\n"), 400, "InvalidImage"),
    "GIF": (dict(body=b"GIF89a\x78\x00\x5a\x00", content_type="image/gif"), 415, "UnsupportedMediaType"),
    "no body": (dict(body=None), 400, "EmptyBody"),
    "empty body": (dict(body=b""), 400, "EmptyBody"),
    "JSON content type": (dict(body=PNG + b"json?", content_type="application/json"), 415, "UnsupportedMediaType"),
    "no content type": (dict(body=PNG + b"untyped", content_type=None), 415, "UnsupportedMediaType"),
    "image/jpg is not a media type": (dict(body=JPEG + b"x", content_type="image/jpg"), 415, "UnsupportedMediaType"),
    "PNG sent as image/jpeg": (dict(body=GOOD_PNG, content_type="image/jpeg"), 400, "ContentTypeMismatch"),
    "JPEG sent as image/png": (dict(body=GOOD_JPEG), 400, "ContentTypeMismatch"),
    "PNG signature cut short": (dict(body=PNG[:7]), 400, "InvalidImage"),
    "body passed as text (no binary media type)": (dict(body=b"\x89PNG\r\n\x1a\nabc", base64_encoded=False),
                                                   400, "InvalidImage"),
    "4 MiB + 1 byte": (dict(body=BIG), 413, "ImageTooLarge"),
    # the image itself (image_checks.py): every file of data/bad/, sent as PNG or JPEG
    "JSON body": (dict(body=bad("not_an_image.json")), 400, "InvalidImage"),
    "random bytes": (dict(body=bad("random.bin")), 400, "InvalidImage"),
    "GIF sent as image/png": (dict(body=bad("drawing.gif")), 415, "UnsupportedImageFormat"),
    "TIFF": (dict(body=bad("drawing.tiff")), 415, "UnsupportedImageFormat"),
    "WebP": (dict(body=bad("header_only.webp")), 415, "UnsupportedImageFormat"),
    "BMP": (dict(body=bad("drawing.bmp"), content_type="image/jpeg"), 415, "UnsupportedImageFormat"),
    "HEIC": (dict(body=b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), 415, "UnsupportedImageFormat"),
    "truncated PNG": (dict(body=bad("truncated.png")), 400, "InvalidImage"),
    "PNG with a bad CRC": (dict(body=bad("bad_crc.png")), 400, "InvalidImage"),
    "truncated JPEG": (dict(body=bad("truncated.jpg"), content_type="image/jpeg"), 400, "InvalidImage"),
    "corrupt JPEG": (dict(body=bad("corrupt.jpg"), content_type="image/jpeg"), 400, "InvalidImage"),
    "too small": (dict(body=bad("tiny.png")), 400, "ImageTooSmall"),
    "too wide": (dict(body=bad("too_wide.png")), 413, "ImageTooLarge"),
    "decompression bomb": (dict(body=bad("bomb.png")), 400, "DecompressionBomb"),
    "JPEG with garbage after EOI": (dict(body=GOOD_JPEG + b"appended", content_type="image/jpeg"),
                                    400, "InvalidImage"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_bad_input_is_refused_with_its_status_and_code_and_nothing_is_written(wb, receiver, case):
    kwargs, status, code = REFUSED[case]
    before = api.footprint(wb)
    answer_status, body = post(receiver, **kwargs)
    assert (answer_status, body["error"]) == (status, code)
    assert set(body) == {"error", "message"} and len(body["message"]) > 20
    assert api.footprint(wb) == before
    if kwargs.get("body"):
        image_id = sha(kwargs["body"])
        assert record(wb, image_id) is None and staged(wb, image_id) is None
        assert api.executions_named(wb, image_id) == []


def test_refusals_say_what_was_wrong_and_what_is_accepted(receiver):
    assert post(receiver, b"GIF89a", "image/gif")[1]["message"] == (
        "Content-Type image/gif is not accepted: send the image's raw bytes with Content-Type image/png or "
        "image/jpeg, or several images as multipart/form-data")
    assert post(receiver, GOOD_PNG, "image/jpeg")[1]["message"] == (
        "Content-Type is image/jpeg but the body is a PNG image: send it as image/png")
    accepted = "accepted: PNG or JPEG, at least 80 pixels a side, at most 89,478,485 pixels in all"
    assert post(receiver, b"text", "image/png")[1]["message"] == (
        f"the body is not an image (its first bytes are no image format's); {accepted}")
    assert post(receiver, bad("drawing.tiff"))[1]["message"] == (
        f"the body is a TIFF image, which Rekognition does not read; {accepted} (convert it first)")
    assert post(receiver, bad("tiny.png"))[1]["message"] == (
        f"Input image dimensions 10 x 10 are below the minimum of 80 pixels for both height and width; {accepted}")
    assert post(receiver, bad("too_wide.png"))[1]["message"] == (
        "Input image dimensions 10001 x 80 exceed maximum dimension size of 10000 pixels; send larger images "
        "through POST /uploads")
    assert post(receiver, bad("bomb.png"))[1]["message"] == (
        "the PNG header declares 30000 x 30000 pixels (900,000,000), more than 89,478,485: a small file that "
        f"would inflate enormously; {accepted}")
    assert post(receiver, bad("bad_crc.png"))[1]["message"] == (
        f"the PNG's 'IDAT' chunk at byte 33 fails its CRC check: the file is corrupt; {accepted}")
    assert post(receiver, BIG)[1]["message"] == (
        "the request has 4,194,305 bytes; at most 4,194,304 (4 MiB) are accepted: send larger images through "
        "POST /uploads")
    assert "binary media types must include image/png" in post(
        receiver, PNG + b"abc", base64_encoded=False)[1]["message"]


# --- accepted ---------------------------------------------------------------------------------


def test_an_image_is_recorded_staged_and_started_then_answered_202(wb, receiver):
    image = make_png(81, 80)
    image_id = sha(image)
    before = api.footprint(wb)
    assert post(receiver, image, "image/png; charset=binary", header="content-type") == (
        202, {"id": image_id, "status": "PROCESSING", "href": f"/images/{image_id}"})

    item = record(wb, image_id)
    assert item["status"] == {"S": "PROCESSING"} and item["created_at"] == item["updated_at"]
    assert item["created_at"]["S"].endswith("Z")
    assert staged(wb, image_id) == image
    [execution] = api.executions_named(wb, image_id)
    described = wb.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {
        "id": image_id, "staging": {"bucket": wb.names.bucket, "key": f"staging/{image_id}"},
        "content_type": "image/png"}
    assert api.footprint(wb) == {**before, "records": before["records"] + 1,
                                 "staged objects": before["staged objects"] + 1,
                                 "executions": before["executions"] + 1}


def test_a_jpeg_of_exactly_4_mib_is_accepted(wb, receiver):
    jpeg = make_jpeg(80, 81)
    image = jpeg + bytes(4 * 1024 * 1024 - len(jpeg))  # zero padding after EOI is tolerated
    status, body = post(receiver, image, "image/jpeg")
    assert (status, body["status"]) == (202, "PROCESSING")
    assert len(staged(wb, body["id"])) == 4 * 1024 * 1024


def test_resubmitting_gives_the_same_id_and_no_second_execution(wb, receiver):
    image = make_jpeg(82, 80)
    first = post(receiver, image, "image/jpeg")
    after_first = api.footprint(wb)
    second = post(receiver, image, "image/jpeg")
    assert first == second == (202, {"id": sha(image), "status": "PROCESSING", "href": f"/images/{sha(image)}"})
    assert len(api.executions_named(wb, sha(image))) == 1
    assert api.footprint(wb) == after_first


def test_a_finished_image_answers_its_final_status_and_is_not_staged_again(wb, receiver):
    image = make_png(83, 80)
    image_id = post(receiver, image)[1]["id"]
    wb.client("s3").delete_object(Bucket=wb.names.bucket, Key=f"staging/{image_id}")  # as the uploader does
    wb.client("dynamodb").update_item(TableName=wb.names.table, Key={"id": {"S": image_id}},
                                      UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                                      ExpressionAttributeValues={":s": {"S": "SUCCEEDED"}})
    before = api.footprint(wb)
    assert post(receiver, image) == (202, {"id": image_id, "status": "SUCCEEDED", "href": f"/images/{image_id}"})
    assert staged(wb, image_id) is None and api.footprint(wb) == before


def test_a_submission_that_failed_half_way_is_completed_by_the_retry(wb, receiver, tmp_path, caplog):
    image = make_png(84, 80)
    image_id = sha(image)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _environment(wb, BUCKET_NAME="api-rx-test-no-such-bucket").items():
            patch.setenv(key, value)
        broken = load_function(NOTEBOOK, "api_receiver", tmp_path, modules=MODULES)
    with caplog.at_level(logging.INFO):
        status, body = post(broken, image)
    # The record was written, then S3 failed: a 500 naming the request, and the traceback in the log.
    assert (status, body["error"], body["requestId"]) == (500, "InternalError", "gateway-request-id")
    assert body["message"] == "a service the API uses failed, not your request: try again, or quote request id " \
        "gateway-request-id"
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert "POST /images failed (request id gateway-request-id)" in failure.getMessage()
    assert "NoSuchBucket" in caplog.text
    assert record(wb, image_id)["status"] == {"S": "PROCESSING"} and api.executions_named(wb, image_id) == []

    assert post(receiver, image) == (202, {"id": image_id, "status": "PROCESSING", "href": f"/images/{image_id}"})
    assert staged(wb, image_id) == image and len(api.executions_named(wb, image_id)) == 1


# --- GET and routing --------------------------------------------------------------------------


def test_get_answers_the_record_with_plain_numbers(wb, receiver):
    image_id = sha(b"recorded by the result-store")
    item = {"id": image_id, "status": "SUCCEEDED",
            "image": {"bucket": wb.names.bucket, "key": f"images/{image_id}.png", "content_type": "image/png",
                      "size": Decimal(12345)},
            "labels": [{"name": "Cat", "confidence": Decimal("98.1"), "parents": ["Animal"]}],
            "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:02+00:00"}
    boto3.resource("dynamodb", region_name="us-east-1").Table(wb.names.table).put_item(Item=item)
    status, body = get(receiver, image_id)
    assert status == 200
    assert body == {**item, "image": {**item["image"], "size": 12345},
                    "labels": [{"name": "Cat", "confidence": 98.1, "parents": ["Animal"]}]}
    assert isinstance(body["image"]["size"], int)


def test_get_unknown_or_malformed_ids(receiver):
    unknown = sha(b"never sent")
    assert get(receiver, unknown) == (404, {"error": "NotFound",
                                            "message": f"no image with id {unknown}: POST it to /images first"})
    for bad in ("cat.png", "A" * 64, "a" * 63, "a" * 65, ""):
        status, body = get(receiver, bad)
        assert (status, body["error"]) == (400, "InvalidId"), bad


def test_methods_it_does_not_serve_are_405_and_unknown_routes_404(receiver):
    assert get(receiver, "x", method="DELETE", headers={"Allow": "GET"}) == (405, {
        "error": "MethodNotAllowed", "message": "/images/{id} accepts GET, not DELETE"})
    assert get(receiver, "x", method="PUT", resource="/uploads", headers={"Allow": "POST"}) == (405, {
        "error": "MethodNotAllowed", "message": "/uploads accepts POST, not PUT"})
    status, body = get(receiver, "x", resource="/{proxy+}")
    assert (status, body["error"]) == (404, "NotFound")


def test_get_images_lists_the_most_recent_records_newest_first(wb, receiver):
    """Exercise 5.1's route, as the notebook's solution writes it."""
    image = make_png(84, 81)
    assert post(receiver, image)[0] == 202
    event = {"resource": "/images", "path": "/images", "httpMethod": "GET", "headers": None,
             "pathParameters": None, "requestContext": {"requestId": "gateway-request-id"}, "body": None,
             "isBase64Encoded": False}
    status, body = _answer(receiver.handler(event, CONTEXT))
    listed = body["images"]
    assert status == 200 and 1 <= len(listed) <= 10
    assert listed[0] == {"id": sha(image), "status": "PROCESSING", "created_at": listed[0]["created_at"],
                         "href": f"/images/{sha(image)}"}
    assert [item["created_at"] for item in listed] == sorted((item["created_at"] for item in listed), reverse=True)


def test_max_images_from_the_environment_caps_the_parts_of_one_request(wb, tmp_path):
    """Exercise 5.2: the limit is a setting of the deployed function, not a code edit."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _environment(wb, MAX_IMAGES="2").items():
            patch.setenv(key, value)
        limited = load_function(NOTEBOOK, "api_receiver", tmp_path, modules=MODULES)
    before = api.footprint(wb)
    status, answer = post(limited, *multipart([("images", ("a.png", make_png(83, 82), "image/png"))] * 3))
    assert (status, answer) == (413, {"error": "TooManyParts",
                                      "message": "the request has 3 parts; at most 2 images are accepted per request"})
    assert api.footprint(wb) == before
    assert post(limited, *multipart([("images", ("a.png", make_png(83, 82), "image/png"))] * 2))[0] == 202


def test_the_function_uses_only_the_standard_library_and_boto3():
    imports = {line.split()[1].split(".")[0] for line in function_source(NOTEBOOK, "api_receiver").splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "base64", "binascii", "hashlib", "json", "logging", "os", "re", "uuid",
                       "decimal", "typing", "boto3", "botocore", "image_checks", "multipart_form",
                       "pipeline_start"}, imports
    checks = {line.split()[1].split(".")[0] for line in module_source(NOTEBOOK, "image_checks").splitlines()
              if line.startswith(("import ", "from "))}
    assert checks <= {"__future__", "struct", "zlib", "dataclasses"}, checks
    form = {line.split()[1].split(".")[0] for line in module_source(NOTEBOOK, "multipart_form").splitlines()
            if line.startswith(("import ", "from "))}
    assert form <= {"__future__", "dataclasses", "email"}, form
    start = {line.split()[1].split(".")[0] for line in function_source(NOTEBOOK, "pipeline_start").splitlines()
             if line.startswith(("import ", "from "))}
    assert start <= {"__future__", "json", "datetime", "typing"}, start


# --- through the real API on the local cloud ---------------------------------------------------


@pytest.fixture(scope="module")
def deployed(wb, tmp_path_factory):
    source = tmp_path_factory.mktemp("deployed") / "api_receiver.py"
    source.write_text(function_source(NOTEBOOK, "api_receiver"))
    for module in MODULES:
        (source.parent / f"{module}.py").write_text(module_source(NOTEBOOK, module))
    function = lambdas.deploy(wb, "api_receiver", source=source, modules=MODULES, environment=_environment(wb))
    return api.ensure(wb, function.arn).url


def test_over_http_post_answers_202_and_get_answers_the_record(wb, deployed):
    image = make_png(85, 80)  # not UTF-8: survives only as a binary media type
    image_id = sha(image)
    posted = requests.post(f"{deployed}/images", data=image, headers={"Content-Type": "image/png"}, timeout=60)
    assert (posted.status_code, posted.json()) == (202, {"id": image_id, "status": "PROCESSING",
                                                         "href": f"/images/{image_id}"})
    assert staged(wb, image_id) == image
    got = requests.get(f"{deployed}{posted.json()['href']}", timeout=60)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/json"
    assert got.json()["id"] == image_id and got.json()["status"] == "PROCESSING"
    assert len(api.executions_named(wb, image_id)) == 1


def test_over_http_bad_input_is_refused_by_the_function(wb, deployed):
    before = api.footprint(wb)
    cases = [(b"GIF89a...", "image/gif", 415, "UnsupportedMediaType"), (b"", "image/png", 400, "EmptyBody"),
             (b"plain text", "image/png", 400, "InvalidImage"), (GOOD_PNG, None, 415, "UnsupportedMediaType"),
             (bad("drawing.tiff"), "image/png", 415, "UnsupportedImageFormat"),
             (bad("truncated.jpg"), "image/jpeg", 400, "InvalidImage"),
             (bad("bad_crc.png"), "image/png", 400, "InvalidImage"),
             (bad("tiny.png"), "image/png", 400, "ImageTooSmall"),
             (bad("too_wide.png"), "image/png", 413, "ImageTooLarge"),
             (bad("bomb.png"), "image/png", 400, "DecompressionBomb"),
             (GOOD_JPEG, "image/png", 400, "ContentTypeMismatch")]
    for body, content_type, status, code in cases:
        headers = {"Content-Type": content_type} if content_type else {}
        answer = requests.post(f"{deployed}/images", data=body, headers=headers, timeout=60)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (code, content_type)
        assert answer.json()["message"]
    missing = requests.get(f"{deployed}/images/{sha(b'never sent')}", timeout=60)
    assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")
    assert api.footprint(wb) == before


# --- several images in one request: multipart/form-data (issue 4, point 6) --------------------


def multipart(files) -> tuple[bytes, str]:
    """A multipart/form-data body as requests builds it: (body, its Content-Type header)."""
    prepared = requests.Request("POST", "http://x/images", files=files).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def test_each_part_is_accepted_or_refused_on_its_own(wb, receiver):
    good = [make_png(86, 80), make_jpeg(87, 80)]
    body, content_type = multipart([
        ("images", ("a.png", good[0], "image/png")), ("images", ("b.gif", bad("drawing.gif"), "image/gif")),
        ("images", ("c.jpg", good[1], "image/jpeg")), ("images", ("d.png", bad("truncated.png"), "image/png")),
        ("images", ("e.png", b"", "image/png")), ("images", ("f.png", GOOD_JPEG, "image/png")),
        ("caption", (None, "no Content-Type: a plain form field")),
    ])
    before = api.footprint(wb)
    status, answer = post(receiver, body, content_type)
    assert status == 202 and (answer["accepted"], answer["refused"]) == (2, 5)
    parts = answer["images"]
    assert [part["part"] for part in parts] == [1, 2, 3, 4, 5, 6, 7]
    assert parts[0] == {"part": 1, "filename": "a.png", "id": sha(good[0]), "status": "PROCESSING",
                        "href": f"/images/{sha(good[0])}"}
    assert parts[2]["id"] == sha(good[1])
    assert [(p["statusCode"], p["error"]) for p in (parts[1], *parts[3:])] == [
        (415, "UnsupportedMediaType"), (400, "InvalidImage"), (400, "EmptyBody"), (400, "ContentTypeMismatch"),
        (415, "UnsupportedMediaType")]
    assert all(set(p) == {"part", "filename", "error", "message", "statusCode"} for p in (parts[1], *parts[3:]))
    assert parts[6]["filename"] is None and "(none)" in parts[6]["message"]
    assert api.footprint(wb) == {**before, "records": before["records"] + 2,
                                 "staged objects": before["staged objects"] + 2,
                                 "executions": before["executions"] + 2}
    for image in good:
        assert staged(wb, sha(image)) == image and len(api.executions_named(wb, sha(image))) == 1


def test_a_part_keeps_its_bytes_exactly_even_with_boundary_like_bytes_inside(wb, receiver):
    boundary = "b0und4ry"
    # A PNG whose text chunk holds a line break, dashes, most of the boundary and a blank line.
    text = b"Comment\x00\r\n--b0und4r\r\n\r\n--\r\n"
    png = make_png(88, 80)
    tricky = png[:33] + struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text)) \
        + png[33:]
    body, content_type = urllib3.encode_multipart_formdata(
        [("images", ("t.png", tricky, "image/png")), ("images", ("u.png", png, "image/png"))], boundary=boundary)
    status, answer = post(receiver, body, content_type)
    assert status == 202 and [p["id"] for p in answer["images"]] == [sha(tricky), sha(png)]
    assert staged(wb, sha(tricky)) == tricky and staged(wb, sha(png)) == png


def test_the_same_image_twice_in_one_request_is_one_record_and_one_execution(wb, receiver):
    image = make_png(90, 80)
    body, content_type = multipart([("images", ("a.png", image, "image/png"))] * 2)
    before = api.footprint(wb)
    status, answer = post(receiver, body, content_type)
    assert status == 202 and [p["id"] for p in answer["images"]] == [sha(image)] * 2
    assert len(api.executions_named(wb, sha(image))) == 1
    assert api.footprint(wb)["records"] == before["records"] + 1


WHOLE_REQUEST_REFUSED = {
    "no boundary": (lambda: (b"--x\r\n\r\n--x--", "multipart/form-data"), 400, "InvalidMultipart"),
    "cut short": (lambda: (lambda b, t: (b[:-60], t))(*multipart([("i", ("a.png", GOOD_PNG, "image/png"))])),
                  400, "InvalidMultipart"),
    "boundary never used": (lambda: (b"just bytes", "multipart/form-data; boundary=abc"), 400, "InvalidMultipart"),
    "no parts": (lambda: (b"--abc--\r\n", "multipart/form-data; boundary=abc"), 400, "InvalidMultipart"),
    "part without headers": (lambda: (b"--abc\r\n\r\n" + GOOD_PNG + b"\r\n--abc--\r\n",
                                      "multipart/form-data; boundary=abc"), 400, "InvalidMultipart"),
    "11 parts": (lambda: multipart([("i", ("a.png", GOOD_PNG, "image/png"))] * 11), 413, "TooManyParts"),
    "over 4 MiB in all": (lambda: multipart([("i", ("a.png", BIG, "image/png"))]), 413, "ImageTooLarge"),
    "every part refused": (lambda: multipart([("i", ("a.gif", bad("drawing.gif"), "image/gif"))]),
                           400, "NoImageAccepted"),
}


@pytest.mark.parametrize("case", WHOLE_REQUEST_REFUSED, ids=list(WHOLE_REQUEST_REFUSED))
def test_a_bad_multipart_request_is_refused_as_a_whole_and_writes_nothing(wb, receiver, case):
    make, status, code = WHOLE_REQUEST_REFUSED[case]
    body, content_type = make()
    before = api.footprint(wb)
    answer_status, answer = post(receiver, body, content_type)
    assert (answer_status, answer["error"]) == (status, code)
    assert len(answer["message"]) > 20
    assert api.footprint(wb) == before


def test_a_multipart_body_without_the_binary_media_type_says_so(receiver):
    body, content_type = multipart([("i", ("a.png", GOOD_PNG, "image/png"))])
    status, answer = post(receiver, body, content_type, base64_encoded=False)
    assert (status, answer["error"]) == (400, "InvalidImage")
    assert "binary media types must include multipart/form-data" in answer["message"]


# --- POST /uploads: a presigned POST for a large image (issue 4, point 5) ---------------------


def post_upload(receiver, body):
    event = {"resource": "/uploads", "path": "/uploads", "httpMethod": "POST",
             "headers": {"Content-Type": "application/json"}, "pathParameters": None,
             "requestContext": {"requestId": "gateway-request-id"},
             "body": body if isinstance(body, str) else json.dumps(body), "isBase64Encoded": False}
    return _answer(receiver.handler(event, CONTEXT))


def test_post_uploads_answers_a_presigned_post_bound_to_type_and_exact_size(wb, receiver):
    before = api.footprint(wb)
    status, grant = post_upload(receiver, {"content_type": "image/jpeg", "size": 5_000_000})
    assert status == 201 and grant["expires_in"] == 300
    assert grant["url"].endswith(wb.names.bucket) or wb.names.bucket in grant["url"]
    fields = grant["fields"]
    assert fields["Content-Type"] == "image/jpeg" and fields["key"].startswith("uploads/")
    # Signature Version 4: version 2 (boto3's default for presigned POSTs) is deprecated by S3
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and "signature" not in fields
    assert len(fields["key"]) == len("uploads/") + 32
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 5_000_000, 5_000_000] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"] and {"key": fields["key"]} in policy["conditions"]
    assert api.footprint(wb) == before  # a grant writes nothing
    assert post_upload(receiver, {"content_type": "image/jpeg", "size": 1})[1]["fields"]["key"] != fields["key"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"content_type": "image/gif", "size": 100}, 415, "UnsupportedMediaType"),
    ({"content_type": "image/png", "size": 15 * 1024 * 1024 + 1}, 413, "ImageTooLarge"),
    ({"content_type": "image/png", "size": 0}, 400, "InvalidRequest"),
    ({"content_type": "image/png", "size": "12"}, 400, "InvalidRequest"),
    ({"content_type": "image/png", "size": True}, 400, "InvalidRequest"),
    ({"content_type": "image/png"}, 400, "InvalidRequest"),
    ("not json", 400, "InvalidRequest"),
    ('["image/png", 12]', 400, "InvalidRequest"),
])
def test_post_uploads_refuses_what_it_cannot_grant(receiver, body, status, code):
    answer_status, answer = post_upload(receiver, body)
    assert (answer_status, answer["error"]) == (status, code)
    assert len(answer["message"]) > 20


def test_over_http_several_images_in_one_multipart_request(wb, deployed):
    good = make_png(91, 80)
    answer = requests.post(f"{deployed}/images", timeout=60, files=[
        ("images", ("good.png", good, "image/png")), ("images", ("bad.jpg", bad("corrupt.jpg"), "image/jpeg"))])
    assert answer.status_code == 202
    assert [(p.get("id"), p.get("error")) for p in answer.json()["images"]] == [(sha(good), None),
                                                                                (None, "InvalidImage")]
    assert staged(wb, sha(good)) == good


def test_over_http_a_granted_upload_lands_under_uploads_with_its_type(wb, deployed):
    image = make_jpeg(92, 80)
    grant = requests.post(f"{deployed}/uploads", json={"content_type": "image/jpeg", "size": len(image)}, timeout=60)
    assert grant.status_code == 201
    fields = grant.json()["fields"]
    sent = requests.post(grant.json()["url"], data=fields, files={"file": ("x.jpg", image, "image/jpeg")}, timeout=60)
    assert sent.status_code == 204, sent.text
    stored = wb.client("s3").get_object(Bucket=wb.names.bucket, Key=fields["key"])
    assert stored["Body"].read() == image and stored["ContentType"] == "image/jpeg"
    wb.client("s3").delete_object(Bucket=wb.names.bucket, Key=fields["key"])


def test_over_http_what_api_gateway_answers_itself_has_the_receivers_shape_too(wb, deployed):
    # The API's gateway responses (helpers/api.py): no such route, and a body Lambda refuses.
    no_route = requests.delete(f"{deployed}/images/{sha(b'x')}", timeout=60)
    assert no_route.status_code == 404 and no_route.json()["error"] == "NoSuchRoute"
    assert "this API has POST /images, POST /uploads and GET /images/{id}" in no_route.json()["message"]
    before = api.footprint(wb)
    too_big = requests.post(f"{deployed}/images", data=PNG + bytes(5 * 1024 * 1024), timeout=60,
                            headers={"Content-Type": "image/png"})
    # Lambda refuses the 7 MB event; API Gateway answers 413 itself, in the receiver's shape.
    assert (too_big.status_code, too_big.json()) == (413, {"error": "DEFAULT_4XX", "message": "Request Too Long"})
    assert api.footprint(wb) == before


# --- malformed events and abusive bodies (issue 9, point 8) ------------------------------------

GOOD_EVENT = {"resource": "/images/{id}", "path": "/images/x", "httpMethod": "GET", "headers": None,
              "pathParameters": {"id": "0" * 64}, "requestContext": {"requestId": "r"}, "body": None,
              "isBase64Encoded": False}


@pytest.mark.parametrize("event", [
    None, [], "GET /images", 42,
    {},  # nothing at all
    {**GOOD_EVENT, "httpMethod": None},
    {**GOOD_EVENT, "httpMethod": 7},
    {k: v for k, v in GOOD_EVENT.items() if k != "resource"},
    {**GOOD_EVENT, "resource": ["/images"]},
    {**GOOD_EVENT, "headers": "Content-Type: image/png"},
    {**GOOD_EVENT, "headers": {"Content-Type": None}},
    {**GOOD_EVENT, "headers": {"Content-Type": ["image/png"]}},
    {**GOOD_EVENT, "pathParameters": ["id"]},
    {**GOOD_EVENT, "pathParameters": {"id": 12}},
    {**GOOD_EVENT, "requestContext": "r"},
    {**GOOD_EVENT, "requestContext": {"requestId": 5}},
    {**GOOD_EVENT, "resource": "/images", "httpMethod": "POST", "body": {"image": "x"}},
    {**GOOD_EVENT, "resource": "/images", "httpMethod": "POST", "body": 12345, "isBase64Encoded": True},
    {**GOOD_EVENT, "resource": "/uploads", "httpMethod": "POST", "body": ["image/png", 5]},
    {**GOOD_EVENT, "isBase64Encoded": "yes"},
    {**GOOD_EVENT, "path": 3},
], ids=repr)
def test_a_malformed_event_is_a_400_invalid_event_never_a_crash(receiver, event):
    response = receiver.handler(event, CONTEXT)
    status, answer = _answer(response)
    assert (status, answer["error"]) == (400, "InvalidEvent"), answer
    assert answer["message"].endswith("this function takes API Gateway's proxy events")


@pytest.mark.parametrize("event", [
    {**GOOD_EVENT, "headers": None, "requestContext": None, "body": None},  # nulls are fine
    {k: v for k, v in GOOD_EVENT.items() if k not in ("path", "body", "isBase64Encoded", "requestContext")},
])
def test_nulls_and_missing_optional_fields_are_fine(receiver, event):
    assert _answer(receiver.handler(event, None))[0] == 404  # no such record: the event itself was fine


@pytest.mark.parametrize("image_id", ["0" * 64 + "\n", " " + "0" * 64, "0" * 63, "0" * 64 + "0", "A" * 64,
                                      "../" + "0" * 61, ""])
def test_ids_must_match_in_full(receiver, image_id):
    assert get(receiver, image_id)[1]["error"] == "InvalidId"


@pytest.mark.parametrize("body", ["[" * 100_000, '{"content_type": "image/png", "size": ' + "[" * 50_000])
def test_post_uploads_with_deeply_nested_json_is_a_400(receiver, body):
    assert post_upload(receiver, body)[1]["error"] == "InvalidRequest"


@pytest.mark.parametrize(("head", "where"), [
    # email's parameter parser is quadratic in a header's length: ';' inside a quoted value is its worst case
    (b'Content-Disposition: form-data; name="images"; filename="' + b"a;" * 15_000 + b'"', "part 1"),
    (b'Content-Disposition: form-data; name="images"\r\n' + b"X-Padding: " + b";" * 30_000, "part 1"),
])
def test_a_30_kb_part_header_is_refused_before_parsing_and_quickly(wb, receiver, head, where):
    import time

    body = b"--B\r\n" + head + b"\r\nContent-Type: image/png\r\n\r\n" + GOOD_PNG + b"\r\n--B--\r\n"
    before = api.footprint(wb)
    started = time.perf_counter()
    status, answer = post(receiver, body, "multipart/form-data; boundary=B")
    elapsed = time.perf_counter() - started
    assert (status, answer["error"]) == (413, "PartHeadersTooLarge")
    assert answer["message"].startswith(f"{where}: its header block has {len(head) + 25:,} bytes; at most 2,048")
    assert elapsed < 0.1, f"{elapsed:.3f} s"  # ~0.8 s here (and ~10 s in a 256 MB Lambda) when parsed
    assert api.footprint(wb) == before


def test_a_30_kb_request_content_type_is_refused_too(receiver):
    status, answer = post(receiver, b"--B--\r\n", "multipart/form-data; boundary=B" + ";" * 30_000)
    assert (status, answer["error"]) == (413, "PartHeadersTooLarge")
    assert answer["message"].startswith("the request's Content-Type header has 30,031 bytes")


def test_a_part_header_as_a_browser_sends_it_is_accepted(wb, receiver):
    name = "é" * 250 + ".png"  # a long, non-ASCII file name: about 500 bytes of UTF-8
    body, content_type = multipart([("images", (name, GOOD_PNG, "image/png"))])
    status, answer = post(receiver, body, content_type)
    assert status == 202 and answer["images"][0]["filename"] == name
