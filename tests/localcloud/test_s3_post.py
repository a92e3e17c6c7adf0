"""Browser-style S3 uploads with a presigned POST, held to their policy as S3 holds them, and
lifecycle expiry on demand (localcloud/s3/).

Uploads go through ``requests`` to the session's local cloud, as a browser's form would;
each test uses buckets of its own. Lifecycle runs are scoped to a test's bucket, so they
never touch another test's objects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
import requests
from botocore.config import Config

from localcloud import s3 as local_s3
from localcloud.auth import client as signing
from localcloud.s3 import exceptions, form, policy
from localcloud.s3.lifecycle import ADMIN_PATH as ADMIN
from localcloud.s3.lifecycle import due
from tests.localcloud.lambdas import allow_s3, deploy
from tests.support import localcloud_cli, unique

PNG = "image/png"
# Bytes a careless parser would mangle: CRLFs, blank lines, things that look like boundaries,
# NULs and every byte value.
AWKWARD = (b"\x89PNG\r\n\x1a\n\r\n\r\n--\r\n--" + b"0123456789abcdef" * 2 + b"\r\n"
           + b"\r\n--boundary--\r\n" + bytes(range(256)) + b"\x00\r\n")


@pytest.fixture(scope="module")
def s3(client):
    return client("s3")


@pytest.fixture(scope="module")
def s3v4(localcloud):
    import boto3

    return boto3.client("s3", endpoint_url=localcloud, region_name="us-east-1",
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1}))


@pytest.fixture
def bucket(s3):
    name = unique("post")
    s3.create_bucket(Bucket=name)
    return name


def presign(s3, bucket: str, key: str = "uploads/photo.png", *, content_type: str = PNG, low: int = 1,
            high: int = 1024, expires: int = 300, fields: dict | None = None, conditions: list | None = None):
    """What the workbook's API hands a browser: the URL and fields of a presigned POST."""
    return s3.generate_presigned_post(
        bucket, key, Fields={"Content-Type": content_type, **(fields or {})},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", low, high], *(conditions or [])],
        ExpiresIn=expires)


def post(upload: dict, data: bytes = AWKWARD, *, filename: str = "photo.png", part_type: str = PNG,
         fields: dict | None = None, drop: tuple[str, ...] = (), url: str | None = None) -> requests.Response:
    """The browser's side: the fields as given (changed by ``fields``, less ``drop``), then the file."""
    form_fields = {**upload["fields"], **(fields or {})}
    for name in drop:
        form_fields.pop(name)
    return requests.post(url or upload["url"], data=form_fields, files={"file": (filename, data, part_type)},
                         timeout=60)


def error_of(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/xml", response.text
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def refused(s3, bucket: str, response: requests.Response, status: int, code: str) -> dict[str, str]:
    """The error S3 answers, after checking its status and code and that nothing was stored."""
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["Code"] == code, error
    assert error["RequestId"] and error["HostId"]
    assert keys(s3, bucket) == []
    return error


# --- accepted uploads ------------------------------------------------------------------------


def test_a_valid_post_stores_the_exact_bytes_with_the_forms_content_type(s3, bucket):
    upload = presign(s3, bucket, content_type="image/png", fields={"x-amz-meta-owner": "ada"},
                     conditions=[{"x-amz-meta-owner": "ada"}])
    response = post(upload, part_type="application/octet-stream")  # S3 takes the type from the field
    assert response.status_code == 204 and response.content == b""
    assert response.headers["ETag"] == f'"{hashlib.md5(AWKWARD).hexdigest()}"'
    assert response.headers["Location"].endswith(f"/{bucket}/uploads%2Fphoto.png")
    stored = s3.get_object(Bucket=bucket, Key="uploads/photo.png")
    assert stored["Body"].read() == AWKWARD
    assert stored["ContentType"] == "image/png" and stored["ContentLength"] == len(AWKWARD)
    assert stored["Metadata"] == {"owner": "ada"}


def test_sigv4_fields_and_filename_substitution(s3, s3v4, bucket):
    upload = s3v4.generate_presigned_post(bucket, "uploads/${filename}", Fields={"Content-Type": "image/jpeg"},
                                          Conditions=[["starts-with", "$Content-Type", "image/"]], ExpiresIn=300)
    assert {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} <= set(upload["fields"])
    # Only the name after the last slash or backslash replaces ${filename}.
    response = post(upload, b"\xff\xd8\xff\xe0jpeg\r\n", filename="C:\\photos\\cat.jpg")
    assert response.status_code == 204, response.text
    assert keys(s3, bucket) == ["uploads/cat.jpg"]
    assert s3.head_object(Bucket=bucket, Key="uploads/cat.jpg")["ContentType"] == "image/jpeg"


@pytest.mark.parametrize("status, expected", [("200", 200), ("201", 201), ("204", 204), ("999", 204)])
def test_success_action_status(s3, bucket, status, expected):
    upload = presign(s3, bucket, fields={"success_action_status": status},
                     conditions=[{"success_action_status": status}])
    response = post(upload)
    assert response.status_code == expected, response.text
    etag = f'"{hashlib.md5(AWKWARD).hexdigest()}"'
    assert response.headers["ETag"] == etag
    if expected == 201:
        document = ET.fromstring(response.content)
        assert document.tag == "PostResponse"
        assert {c.tag: c.text for c in document} == {
            "Location": response.headers["Location"], "Bucket": bucket, "Key": "uploads/photo.png", "ETag": etag}
    else:
        assert response.content == b""


def test_success_action_redirect_adds_bucket_key_and_etag(s3, bucket):
    target = "https://example.test/done?from=form"
    upload = presign(s3, bucket, fields={"success_action_redirect": target},
                     conditions=[["starts-with", "$success_action_redirect", "https://example.test/"]])
    response = requests.post(upload["url"], data=upload["fields"], files={"file": ("p.png", b"x", PNG)},
                             allow_redirects=False, timeout=60)
    assert response.status_code == 303, response.text
    etag = hashlib.md5(b"x").hexdigest()
    assert response.headers["Location"] == (f"https://example.test/done?from=form&bucket={bucket}"
                                            f"&key=uploads%2Fphoto.png&etag=%22{etag}%22")


def test_fields_after_the_file_are_ignored_and_a_text_file_is_kept_byte_for_byte(s3, bucket):
    upload = presign(s3, bucket, key="notes/n.txt", content_type="text/plain")
    boundary = "XyZ"
    text = "line one\r\n--XyZx not a boundary\r\n\r\nné\r\n"
    parts = [*upload["fields"].items(), ("file", text), ("x-amz-meta-late", "after the file")]
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                    + value.encode() + b"\r\n" for name, value in parts) + f"--{boundary}--\r\n".encode()
    response = requests.post(upload["url"], data=body, timeout=60,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 204, response.text
    stored = s3.get_object(Bucket=bucket, Key="notes/n.txt")
    assert stored["Body"].read() == text.encode()
    assert stored["Metadata"] == {}  # x-amz-meta-late came after the file


def test_x_ignore_fields_need_no_condition_and_a_post_without_policy_is_refused(s3, bucket):
    upload = presign(s3, bucket)
    assert post(upload, fields={"x-ignore-submit": "Upload"}).status_code == 204
    # No policy, no signature: an anonymous upload, which S3 takes only into a publicly writable
    # bucket, and no bucket here is one (a cross-site form could otherwise write into the learner's).
    bare = requests.post(upload["url"], data={"key": "anything/free.bin"},
                         files={"file": ("f", b"\r\n\x00", "application/octet-stream")}, timeout=60)
    assert bare.status_code == 403 and "<Code>AccessDenied</Code>" in bare.text, bare.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="anything/")


def test_sizes_at_the_ends_of_the_range_are_accepted(s3, bucket):
    upload = presign(s3, bucket, low=3, high=5)
    assert post(upload, b"abc").status_code == 204
    assert post(upload, b"abcde").status_code == 204


# --- refused uploads: S3's codes, statuses and messages, and nothing stored --------------------


def test_an_expired_policy_is_access_denied(s3, bucket):
    upload = presign(s3, bucket, expires=-60)
    error = refused(s3, bucket, post(upload), 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Policy expired."


def test_a_wrong_content_type_fails_its_condition(s3, bucket):
    upload = presign(s3, bucket, content_type=PNG)
    error = refused(s3, bucket, post(upload, fields={"Content-Type": "image/gif"}), 403, "AccessDenied")
    assert error["Message"] == ('Invalid according to Policy: Policy Condition failed: '
                                '["eq", "$Content-Type", "image/png"]')


def test_a_starts_with_content_type_holds_every_item_of_a_list(s3, bucket):
    upload = s3.generate_presigned_post(bucket, "uploads/any", Fields={"Content-Type": PNG},
                                        Conditions=[["starts-with", "$Content-Type", "image/"]], ExpiresIn=300)
    error = refused(s3, bucket, post(upload, fields={"Content-Type": "image/png, text/html"}), 403, "AccessDenied")
    assert error["Message"].endswith('Policy Condition failed: ["starts-with", "$Content-Type", "image/"]')
    assert post(upload, fields={"Content-Type": "image/png, image/jpeg"}).status_code == 204


def test_a_file_over_the_range_is_entity_too_large(s3, bucket):
    upload = presign(s3, bucket, low=1, high=10)
    error = refused(s3, bucket, post(upload, b"x" * 11), 400, "EntityTooLarge")
    assert error["Message"] == "Your proposed upload exceeds the maximum allowed size"
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == ("11", "10")


def test_a_file_under_the_range_is_entity_too_small(s3, bucket):
    upload = presign(s3, bucket, low=5, high=10)
    error = refused(s3, bucket, post(upload, b"abcd"), 400, "EntityTooSmall")
    assert error["Message"] == "Your proposed upload is smaller than the minimum allowed size"
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == ("4", "5")


def test_another_key_fails_the_key_condition(s3, bucket):
    upload = presign(s3, bucket, key="uploads/a.png")
    error = refused(s3, bucket, post(upload, fields={"key": "uploads/b.png"}), 403, "AccessDenied")
    assert error["Message"].endswith('Policy Condition failed: ["eq", "$key", "uploads/a.png"]')


def test_a_key_outside_the_prefix_fails_starts_with(s3, bucket):
    upload = presign(s3, bucket, key="uploads/${filename}")
    error = refused(s3, bucket, post(upload, fields={"key": "elsewhere/${filename}"}), 403, "AccessDenied")
    assert error["Message"].endswith('Policy Condition failed: ["starts-with", "$key", "uploads/"]')


def test_a_field_no_condition_names_is_an_extra_input_field(s3, bucket):
    upload = presign(s3, bucket)
    error = refused(s3, bucket, post(upload, fields={"X-Amz-Meta-Note": "hi"}), 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Extra input fields: x-amz-meta-note"


def test_another_bucket_fails_the_bucket_condition(s3, bucket):
    other = unique("post-other")
    s3.create_bucket(Bucket=other)
    upload = presign(s3, bucket)
    error = refused(s3, other, post(upload, url=upload["url"].replace(bucket, other)), 403, "AccessDenied")
    assert error["Message"].endswith(f'Policy Condition failed: ["eq", "$bucket", "{bucket}"]')
    assert keys(s3, bucket) == []


@pytest.mark.parametrize("dropped, named", [("signature", "Signature"), ("AWSAccessKeyId", "AWSAccessKeyId")])
def test_a_policy_without_its_signature_fields_is_refused(s3, bucket, dropped, named):
    upload = presign(s3, bucket)
    error = refused(s3, bucket, post(upload, drop=(dropped,)), 400, "InvalidArgument")
    assert error["Message"] == (f"Bucket POST must contain a field named '{named}'.  If it is specified, "
                                "please check the order of the fields.")
    assert error["ArgumentName"] == named


def test_a_missing_key_a_missing_file_and_a_broken_policy(s3, bucket):
    upload = presign(s3, bucket)
    error = refused(s3, bucket, post(upload, drop=("key",)), 400, "InvalidArgument")
    assert error["ArgumentName"] == "key"
    no_file = requests.post(upload["url"], files={name: (None, value) for name, value in upload["fields"].items()},
                            timeout=60)
    refused(s3, bucket, no_file, 400, "IncorrectNumberOfFilesInPostRequest")
    error = refused(s3, bucket, post(upload, fields={"policy": "not base64!"}), 400, "InvalidPolicyDocument")
    assert error["Message"] == "Invalid Policy: invalid Base64 encoding."
    expired_only = base64.b64encode(json.dumps({"expiration": "2030-01-01T00:00:00Z"}).encode()).decode()
    error = refused(s3, bucket, post(upload, fields={"policy": expired_only}), 400, "InvalidPolicyDocument")
    assert error["Message"] == "Invalid Policy: Policy missing conditions."


def test_virtual_host_style_is_checked_too_and_a_missing_bucket_is_no_such_bucket(s3, localcloud, bucket):
    host = f"{bucket}.localhost:{localcloud.rsplit(':', 1)[1]}"

    def post_to_host(upload: dict) -> requests.Response:
        return requests.post(f"{localcloud}/", headers={"Host": host}, data=upload["fields"],
                             files={"file": ("photo.png", AWKWARD, PNG)}, timeout=60)

    error = refused(s3, bucket, post_to_host(presign(s3, bucket, expires=-60)), 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Policy expired."
    stored = post_to_host(presign(s3, bucket))
    assert stored.status_code == 204 and stored.headers["Location"] == f"http://{host}/uploads%2Fphoto.png"
    assert keys(s3, bucket) == ["uploads/photo.png"]
    missing = post(presign(s3, unique("post-missing"), expires=-60))  # S3 looks for the bucket first
    assert missing.status_code == 404 and error_of(missing)["Code"] == "NoSuchBucket"


# --- notifications ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notified(client):
    """A bucket whose ObjectCreated events under uploads/ go to a queue and to a Lambda function
    that records, under seen/, the event name and the Content-Type it reads back."""
    s3, sqs, lam, iam = client("s3"), client("sqs"), client("lambda"), client("iam")
    name = unique("post-notify")
    s3.create_bucket(Bucket=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    function = deploy(lam, iam, """
        import json
        from urllib.parse import unquote_plus

        import boto3

        def handler(event, context):
            s3 = boto3.client("s3")
            for record in event["Records"]:
                bucket = record["s3"]["bucket"]["name"]
                key = unquote_plus(record["s3"]["object"]["key"])
                head = s3.head_object(Bucket=bucket, Key=key)
                seen = {"eventName": record["eventName"], "contentType": head["ContentType"],
                        "metadata": head["Metadata"], "size": record["s3"]["object"]["size"]}
                s3.put_object(Bucket=bucket, Key="seen/" + key, Body=json.dumps(seen).encode())
    """)
    function_arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    allow_s3(lam, function, name)
    uploads_only = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"], "Filter": uploads_only}],
        "QueueConfigurations": [
            {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:LifecycleExpiration:*"],
             "Filter": uploads_only}],
    })
    queued(sqs, queue_url)  # moto's s3:TestEvent
    return {"bucket": name, "queue": queue_url}


def queued(sqs, queue_url: str) -> list[dict]:
    """The S3 event records in the queue now (moto queues them before the upload is answered)."""
    records = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return records
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            records += json.loads(message["Body"]).get("Records", [])


def wait_for(s3, bucket: str, key: str, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            if time.monotonic() > deadline:
                raise AssertionError(f"{key} never appeared") from None
            time.sleep(0.1)


def test_a_valid_post_runs_the_buckets_function_with_object_created_post(s3, notified):
    bucket = notified["bucket"]
    upload = presign(s3, bucket, key="uploads/lambda.png", fields={"x-amz-meta-by": "form"},
                     conditions=[{"x-amz-meta-by": "form"}])
    assert post(upload).status_code == 204
    seen = json.loads(wait_for(s3, bucket, "seen/uploads/lambda.png"))
    assert seen == {"eventName": "ObjectCreated:Post", "contentType": PNG, "metadata": {"by": "form"},
                    "size": len(AWKWARD)}


def test_notifications_follow_stored_uploads_only(s3, client, notified):
    sqs, bucket, queue = client("sqs"), notified["bucket"], notified["queue"]
    queued(sqs, queue)  # what earlier tests left
    upload = presign(s3, bucket, key="uploads/queued.png")
    assert post(upload, fields={"Content-Type": "image/gif"}).status_code == 403
    assert post(upload, b"x" * 2000).status_code == 400
    assert queued(sqs, queue) == []  # refused: no event
    assert post(upload).status_code == 204
    (record,) = queued(sqs, queue)
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "uploads%2Fqueued.png" and record["s3"]["object"]["size"] == len(AWKWARD)
    outside = presign(s3, bucket, key="elsewhere/x.png")
    assert post(outside).status_code == 204
    assert queued(sqs, queue) == []  # outside the prefix filter


# --- the pure rules ----------------------------------------------------------------------------


def policy_fits(condition: list | dict, fields: dict[str, str]) -> bool:
    document = {"expiration": "2099-01-01T00:00:00Z", "conditions": [{"bucket": "b"}, condition]}
    decoded = policy.decode(base64.b64encode(json.dumps(document).encode()).decode())
    try:
        policy.enforce(decoded, bucket="b", fields=fields, file_size=1, now=datetime.now(timezone.utc))
    except exceptions.S3Error as error:
        assert error.code == "AccessDenied", error
        return False
    return True


def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize("document, message", [
    ("", "Invalid Policy: Expecting '{' but found End-of-Input"),
    ("%%%", "Invalid Policy: invalid Base64 encoding."),
    (base64.b64encode(b"{not json").decode(), "Invalid Policy: Invalid JSON."),
    (encoded({"conditions": [{"bucket": "b"}]}), "Invalid Policy: Policy missing expiration."),
    (encoded({"expiration": "soon", "conditions": [{"bucket": "b"}]}),
     "Invalid Policy: Invalid 'expiration' value: 'soon'"),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": {}}),
     "Invalid Policy: Invalid 'conditions' value: must be a List."),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]}),
     "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": [{"a": 1}]}),
     "Invalid Policy: Invalid Simple-Condition: value must be a string."),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": [["matches", "$key", "x"]]}),
     "Invalid Policy: Invalid Condition: unknown operation 'matches'."),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": [["eq", "$key"]]}),
     "Invalid Policy: Invalid eq: wrong number of arguments."),
    (encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": ["key"]}),
     "Invalid Policy: Invalid condition test: must be a List or Object."),
])
def test_a_malformed_policy_is_an_invalid_policy_document(document, message):
    with pytest.raises(exceptions.S3Error) as raised:
        policy.decode(document)
    assert (raised.value.status, raised.value.code, raised.value.message) == (400, "InvalidPolicyDocument", message)


def test_field_names_are_case_insensitive_values_are_not():
    assert policy_fits(["eq", "$CONTENT-TYPE", "image/png"], {"content-type": "image/png"})
    assert not policy_fits(["eq", "$Content-Type", "image/png"], {"content-type": "IMAGE/PNG"})
    assert policy_fits(["starts-with", "$key", ""], {"key": "anything"})
    assert policy_fits(["content-length-range", "0", "5"], {})  # quoted integers count


def test_every_field_and_the_bucket_need_a_condition():
    decoded = policy.decode(encoded({"expiration": "2099-01-01T00:00:00Z", "conditions": [{"key": "k"}]}))
    names = ["key", "policy", "signature", "awsaccesskeyid", "x-amz-signature", "x-ignore-x", "acl", "x-amz-date"]
    assert policy.uncovered(decoded, names) == ["bucket", "acl", "x-amz-date"]


def test_the_form_joins_repeated_fields_and_strips_the_filenames_path():
    body = (b'--b\r\nContent-Disposition: form-data; name="x-amz-meta-tag"\r\n\r\nNinja\r\n'
            b'--b\r\nContent-Disposition: form-data; name="X-Amz-Meta-Tag"\r\n\r\nStallman\r\n'
            b'--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nin/${filename}\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="/home/me/a.png"\r\n'
            b'Content-Type: image/png\r\n\r\n\r\n--b-\r\n'
            b'--b--\r\n')
    parsed = form.parse(body, "multipart/form-data; boundary=b")
    assert parsed.value("x-amz-meta-tag") == "Ninja,Stallman" and parsed.value("key") == "in/a.png"
    assert parsed.file is not None and parsed.file.data == b"\r\n--b-"
    with pytest.raises(exceptions.S3Error, match="MalformedPOSTRequest"):
        form.parse(body[:-10], "multipart/form-data; boundary=b")


def test_expiry_is_rounded_up_to_the_next_midnight_utc():
    created = datetime(2026, 1, 15, 10, 30, tzinfo=timezone.utc)
    assert due(created, 3) == datetime(2026, 1, 19, tzinfo=timezone.utc)
    assert due(datetime(2026, 1, 15, tzinfo=timezone.utc), 1) == datetime(2026, 1, 16, tzinfo=timezone.utc)


# --- lifecycle expiry ------------------------------------------------------------------------


def put(s3, bucket: str, *names: str, tags: str | None = None) -> None:
    for name in names:
        s3.put_object(Bucket=bucket, Key=name, Body=b"x", **({"Tagging": tags} if tags else {}))


def test_lifecycle_expires_what_each_rule_selects_once_its_days_have_passed(s3, localcloud, bucket):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "tmp-1-day", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}},
        {"ID": "keep-30-days", "Status": "Enabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 30}},
        {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "expire", "Value": "yes"}},
         "Expiration": {"Days": 1}},
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}},
        {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": "big/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]})
    put(s3, bucket, "tmp/a", "tmp/b", "keep/c", "other/d")
    put(s3, bucket, "other/tagged", tags="expire=yes")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="big/video.mp4")["UploadId"]
    everything = ["keep/c", "other/d", "other/tagged", "tmp/a", "tmp/b"]

    # Uploaded today: a 1-day rule expires them at the second midnight UTC from now, not sooner.
    assert local_s3.expire(localcloud, days=0, bucket=bucket) == []
    assert local_s3.expire(localcloud, days=1, bucket=bucket) == []
    assert keys(s3, bucket) == everything

    report = local_s3.run_lifecycle(localcloud, days=2, bucket=bucket)
    assert sorted((e["key"], e["rule"], e["action"]) for e in report["expired"]) == [
        ("other/tagged", "tagged", "deleted"), ("tmp/a", "tmp-1-day", "deleted"), ("tmp/b", "tmp-1-day", "deleted")]
    assert all(e["bucket"] == bucket for e in report["expired"])
    assert [(u["upload_id"], u["rule"]) for u in report["aborted_uploads"]] == [(upload_id, "uploads")]
    assert keys(s3, bucket) == ["keep/c", "other/d"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    assert [e["key"] for e in local_s3.expire(localcloud, days=31, bucket=bucket)] == ["keep/c"]
    assert keys(s3, bucket) == ["other/d"]  # no enabled rule selects it


def test_lifecycle_places_a_delete_marker_in_a_versioned_bucket(s3, localcloud, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    put(s3, bucket, "doc")
    (entry,) = local_s3.expire(localcloud, days=2, bucket=bucket)
    assert entry["action"] == "delete marker"
    versions = s3.list_object_versions(Bucket=bucket)
    assert [m["Key"] for m in versions["DeleteMarkers"]] == ["doc"] and len(versions["Versions"]) == 1


def test_lifecycle_expiry_notifies_lifecycle_expiration_delete(s3, client, localcloud, notified):
    sqs, bucket = client("sqs"), notified["bucket"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old-uploads", "Status": "Enabled", "Filter": {"Prefix": "uploads/old"}, "Expiration": {"Days": 7}}]})
    s3.put_object(Bucket=bucket, Key="uploads/old.png", Body=b"x")
    queued(sqs, notified["queue"])  # its ObjectCreated:Put
    assert [e["key"] for e in local_s3.expire(localcloud, days=8, bucket=bucket)] == ["uploads/old.png"]
    assert [r["eventName"] for r in queued(sqs, notified["queue"])] == ["LifecycleExpiration:Delete"]


def test_the_admin_endpoint_and_the_cli(s3, localcloud, bucket):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "day", "Status": "Enabled", "Filter": {"Prefix": "t/"}, "Expiration": {"Days": 1}}]})
    put(s3, bucket, "t/one", "t/two")
    for bad in ("days=-1", "days=soon", ""):
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(signing.signed_request(localcloud, "POST", f"{ADMIN}?{bad}"))
        assert raised.value.code == 400 and json.loads(raised.value.read())["error"] == "InvalidDays"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(signing.signed_request(localcloud, "GET", f"{ADMIN}?days=2"))  # GET changes nothing
    assert raised.value.code == 405
    with pytest.raises(local_s3.LifecycleError, match="between 0 and"):
        local_s3.expire(localcloud, days=-1, bucket=bucket)
    with urllib.request.urlopen(signing.signed_request(localcloud, "POST", f"{ADMIN}?days=2&bucket={bucket}")
                                ) as response:
        report = json.loads(response.read())
    assert sorted(e["key"] for e in report["expired"]) == ["t/one", "t/two"]
    assert datetime.fromisoformat(report["as_of"]) - datetime.fromisoformat(report["now"]) == timedelta(days=2)
    put(s3, bucket, "t/three")
    port = localcloud.rsplit(":", 1)[1]
    done = localcloud_cli("lifecycle", "run", "--days", "2", "--bucket", bucket, "--port", port)
    assert done.returncode == 0, done.stderr
    assert f"expired {bucket}/t/three (deleted, rule day)" in done.stdout
    assert keys(s3, bucket) == []
