"""helpers.uploads: the bucket's trigger for uploads, and the client's side of a presigned POST."""

from __future__ import annotations

import requests

from helpers import storage, uploads, workbook
from tests.localcloud.lambdas import RETURNS_ONE, make_zip


def _response(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    return response


def test_s3_error_reads_code_and_message_from_s3s_document():
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>EntityTooLarge</Code>'
            b"<Message>Your proposed upload exceeds the maximum allowed size</Message>"
            b"<ProposedSize>11</ProposedSize><RequestId>X</RequestId></Error>")
    assert uploads.s3_error(_response(400, body)) == (
        "400 EntityTooLarge: Your proposed upload exceeds the maximum allowed size")
    assert uploads.s3_error(_response(502, b"Bad Gateway")) == "502 (no S3 error document) Bad Gateway"


def test_the_trigger_is_set_once_and_described(localcloud):
    wb = workbook.start("local", "us-east-1", "uploads-helper", port=int(localcloud.rsplit(":", 1)[1]))
    storage.ensure_bucket(wb)
    lam = wb.client("lambda")
    role = wb.client("iam").create_role(RoleName="uploads-helper-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = lam.create_function(FunctionName="uploads-helper-fn", Runtime="python3.12", Role=role,
                              Handler="app.handler", Code={"ZipFile": make_zip({"app.py": RETURNS_ONE})})["FunctionArn"]
    assert uploads.ensure_trigger(wb, arn) is True
    assert uploads.ensure_trigger(wb, arn) is False
    assert uploads.trigger(wb) == ["s3:ObjectCreated:* (prefix uploads/) -> uploads-helper-fn"]
    policy = lam.get_policy(FunctionName=arn)["Policy"]
    assert '"s3.amazonaws.com"' in policy and wb.names.bucket_arn in policy and "123456789012" in policy
    assert uploads.left(wb) == [] and uploads.wait_until_empty(wb, timeout=1) == []


def test_a_notification_spelled_as_s3_answers_it_counts_as_the_same():
    ours = uploads._wanted("arn:aws:lambda:us-east-1:123456789012:function:f")["LambdaFunctionConfigurations"]
    as_answered = [{**ours[0], "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "uploads/"}]}}}]
    assert uploads._comparable(as_answered) == uploads._comparable(ours)
    elsewhere = [{**ours[0], "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "staging/"}]}}}]
    assert uploads._comparable(elsewhere) != uploads._comparable(ours)
