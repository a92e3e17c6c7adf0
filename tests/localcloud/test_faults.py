"""Fault injection (issue 4, point 2): rules through the API, the admin endpoints and the CLI,
and each protocol's error on the wire as boto3 reads it.

Rules are global to the session's local cloud, so every test starts and ends with none, and
scopes its rules with ``match`` to names only it uses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import faults
from localcloud.auth import client as signing
from localcloud.faults.ruleset import Call, Rules, make_rule
from tests.localcloud.lambdas import RETURNS_ONE, deploy
from tests.support import localcloud_cli, unique

# One attempt: the SDK's own retries would hide how often a rule fired.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, read_timeout=60)


@pytest.fixture
def endpoint(localcloud):
    faults.clear(localcloud)
    yield localcloud
    faults.clear(localcloud)


@pytest.fixture
def aws(endpoint):
    def make(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=ONE_ATTEMPT)
    return make


def error_of(call) -> tuple[str, int, str, dict]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""), response["ResponseMetadata"]["HTTPHeaders"])


# --- the rules, without a server ------------------------------------------------------------


def test_a_rule_fires_count_times_then_expires():
    rules = Rules()
    rule = rules.add({"service": "dynamodb", "operation": "PutItem", "error": "ThrottlingException", "count": 2})
    call = Call("dynamodb", "PutItem", ("t",))
    assert [bool(rules.check(call)) for _ in range(3)] == [True, True, False]
    (listed,) = rules.list()
    assert listed["id"] == rule.id and listed["fired"] == 2 and listed["expired"] and listed["remaining"] == 0
    assert not rules.active() and rules.check(call) is None


def test_operation_service_and_match_must_all_fit():
    rules = Rules()
    rules.add({"service": "dynamodb", "operation": "UpdateItem", "error": "ThrottlingException",
               "count": None, "match": "*-image-results"})
    assert rules.check(Call("dynamodb", "UpdateItem", ("alice-image-results",)))
    assert not rules.check(Call("dynamodb", "UpdateItem", ("alice-other",)))
    assert not rules.check(Call("dynamodb", "PutItem", ("alice-image-results",)))
    assert not rules.check(Call("rekognition", "UpdateItem", ("alice-image-results",)))
    assert not rules.check(Call("dynamodb", "UpdateItem", ()))  # nothing named: a match cannot fit
    rules.add({"service": "s3", "operation": "*", "error": "SlowDown"})
    assert rules.check(Call("s3", None, ("b",))).error == "SlowDown"


def test_probability_with_a_seed_is_reproducible():
    def sequence() -> list[bool]:
        rules = Rules()
        rules.add({"service": "s3", "operation": "GetObject", "error": "SlowDown", "count": None,
                   "probability": 0.5, "seed": 7})
        return [bool(rules.check(Call("s3", "GetObject", ("b",)))) for _ in range(40)]

    first = sequence()
    assert first == sequence()
    assert 5 < sum(first) < 35, "about half should fire"


@pytest.mark.parametrize("spec, complaint", [
    ({"operation": "Invoke", "error": "ServiceException"}, "'service' is required"),
    ({"service": "lambda", "operation": "Invoke", "error": "Unheard"}, "give 'status'"),
    ({"service": "lambda", "operation": "Invoke", "error": "ServiceException", "count": 0}, "'count'"),
    ({"service": "lambda", "operation": "Invoke", "error": "ServiceException", "probability": 2}, "'probability'"),
    ({"service": "lambda", "operation": "Invoke", "error": "ServiceException", "status": 200}, "'status'"),
    ({"service": "lambda", "operation": "Invoke", "error": "ServiceException", "colour": "red"}, "unknown field"),
])
def test_a_wrong_rule_is_refused_with_the_reason(spec, complaint):
    with pytest.raises(faults.FaultRuleError, match=complaint):
        make_rule(spec)


def test_known_codes_get_aws_status_and_an_unknown_one_takes_an_explicit_status():
    assert make_rule({"service": "lambda", "operation": "Invoke", "error": "TooManyRequestsException"}).status == 429
    assert make_rule({"service": "lambda", "operation": "Invoke", "error": "ServiceException"}).status == 500
    assert make_rule({"service": "s3", "operation": "PutObject", "error": "SlowDown"}).status == 503
    assert make_rule({"service": "dynamodb", "operation": "PutItem",
                      "error": "ProvisionedThroughputExceededException"}).status == 400
    assert make_rule({"service": "lambda", "operation": "Invoke", "error": "Unheard", "status": 418}).status == 418


# --- the admin endpoints, the Python API and the CLI -----------------------------------------


def test_inject_list_and_clear_through_the_admin_endpoints(endpoint):
    rule = faults.inject(endpoint, service="s3", operation="GetObject", error="SlowDown", count=3, match="nobody-*")
    assert rule["id"].startswith("f") and rule["status"] == 503 and rule["remaining"] == 3
    assert [r["id"] for r in faults.rules(endpoint)] == [rule["id"]]
    other = faults.inject(endpoint, service="lambda", operation="Invoke", error="ServiceException", count=None)
    assert other["count"] is None
    assert faults.clear(endpoint, rule["id"]) == 1
    assert [r["id"] for r in faults.rules(endpoint)] == [other["id"]]
    assert faults.clear(endpoint) == 1 and faults.rules(endpoint) == []
    with pytest.raises(faults.FaultRuleError, match="give 'status'"):
        faults.inject(endpoint, service="lambda", operation="Invoke", error="Unheard")
    request = signing.signed_request(endpoint, "POST", "/_localcloud/faults", b"[1]")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400 and json.loads(refused.value.read())["error"] == "InvalidFaultRule"


def test_the_cli_adds_lists_and_clears_and_status_shows_what_fired(endpoint, aws):
    port = endpoint.rsplit(":", 1)[1]
    bucket = unique("faults-cli")
    aws("s3").create_bucket(Bucket=bucket)
    added = localcloud_cli("faults", "add", "--port", port, "--service", "s3", "--operation", "GetObject",
                           "--error", "SlowDown", "--count", "2", "--match", bucket)
    assert added.returncode == 0, added.stderr
    assert "s3 GetObject" in added.stdout and "503 SlowDown" in added.stdout
    for _ in range(2):
        assert error_of(lambda: aws("s3").get_object(Bucket=bucket, Key="k"))[:2] == ("SlowDown", 503)
    # Expired: the request reaches moto, which answers what it knows.
    assert error_of(lambda: aws("s3").get_object(Bucket=bucket, Key="k"))[0] == "NoSuchKey"
    listed = localcloud_cli("faults", "list", "--port", port)
    assert "fired 2 (expired)" in listed.stdout
    assert json.loads(localcloud_cli("faults", "list", "--port", port, "--json").stdout)[0]["fired"] == 2
    status = localcloud_cli("status", "--port", port)
    assert "fault rules (1)" in status.stdout and "503 SlowDown, 2 time(s); fired 2 (expired)" in status.stdout
    log = localcloud_cli("logs", "--port", port, "-n", "200").stdout
    assert f"fired: s3 GetObject ({bucket}) -> 503 SlowDown (2 of 2)" in log
    refused = localcloud_cli("faults", "add", "--port", port, "--service", "lambda", "--operation", "Invoke",
                             "--error", "Nope")
    assert refused.returncode == 2 and "give 'status'" in refused.stderr
    cleared = localcloud_cli("faults", "clear", "--port", port)
    assert cleared.returncode == 0 and "cleared 1" in cleared.stdout
    assert localcloud_cli("faults", "list", "--port", port).stdout.strip() == "no fault rules"
    assert "fault rules: none" in localcloud_cli("status", "--port", port).stdout


# --- each protocol's error, as boto3 reads it ------------------------------------------------


def test_lambda_invoke_errors_are_rest_json_with_the_error_type_header(endpoint, aws):
    name = deploy(aws("lambda"), aws("iam"), RETURNS_ONE)
    faults.inject(endpoint, service="lambda", operation="Invoke", error="TooManyRequestsException", match=name)
    faults.inject(endpoint, service="lambda", operation="Invoke", error="ServiceException", match=name)
    code, status, message, headers = error_of(lambda: aws("lambda").invoke(FunctionName=name))
    assert (code, status, message) == ("TooManyRequestsException", 429, "Rate Exceeded.")
    assert headers["x-amzn-errortype"] == "TooManyRequestsException" and headers["retry-after"] == "1"
    # By ARN too (what Step Functions sends), and the next rule in line.
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    code, status, _, _ = error_of(lambda: aws("lambda").invoke(FunctionName=arn))
    assert (code, status) == ("ServiceException", 500)
    with pytest.raises(aws("lambda").exceptions.ServiceException):
        faults.inject(endpoint, service="lambda", operation="Invoke", error="ServiceException", match=name)
        aws("lambda").invoke(FunctionName=name)
    assert aws("lambda").invoke(FunctionName=name)["Payload"].read() == b"1"


def test_rekognition_errors_are_json_with_type(endpoint, aws):
    bucket = unique("faults-rek")
    faults.inject(endpoint, service="rekognition", operation="DetectLabels", error="ThrottlingException",
                  match=f"{bucket}/*")
    faults.inject(endpoint, service="rekognition", operation="DetectLabels",
                  error="ProvisionedThroughputExceededException", match=bucket)
    rek = aws("rekognition")
    image = {"S3Object": {"Bucket": bucket, "Name": "photo.png"}}
    code, status, message, headers = error_of(lambda: rek.detect_labels(Image=image))
    assert (code, status, message) == ("ThrottlingException", 400, "Rate exceeded")
    assert headers["content-type"] == "application/x-amz-json-1.1" and headers["x-localcloud-fault"]
    with pytest.raises(rek.exceptions.ProvisionedThroughputExceededException):
        rek.detect_labels(Image=image)
    # Both expired: the real checks answer (the bucket does not exist).
    assert error_of(lambda: rek.detect_labels(Image=image))[0] == "InvalidS3ObjectException"
    # Another image is not matched.
    faults.inject(endpoint, service="rekognition", operation="DetectLabels", error="AccessDeniedException",
                  match=f"{bucket}/other.png")
    assert error_of(lambda: rek.detect_labels(Image=image))[0] == "InvalidS3ObjectException"


def test_dynamodb_errors_are_json_with_the_namespaced_type(endpoint, aws):
    table = unique("faults-ddb")
    ddb = aws("dynamodb")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    faults.inject(endpoint, service="dynamodb", operation="PutItem",
                  error="ProvisionedThroughputExceededException", match=table)
    faults.inject(endpoint, service="dynamodb", operation="UpdateItem", error="InternalServerError", match=table)
    item = {"id": {"S": "a"}}
    with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException) as raised:
        ddb.put_item(TableName=table, Item=item)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "provisioned throughput" in raised.value.response["Error"]["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.0"
    ddb.put_item(TableName=table, Item=item)  # expired: moto writes it
    code, status, _, _ = error_of(lambda: ddb.update_item(TableName=table, Key=item, UpdateExpression="SET v = :v",
                                                         ExpressionAttributeValues={":v": {"N": "1"}}))
    assert (code, status) == ("InternalServerError", 500)
    assert ddb.get_item(TableName=table, Key=item)["Item"] == item, "the refused update changed nothing"


def test_s3_errors_are_rest_xml_and_the_body_is_drained(endpoint, aws):
    bucket = unique("faults-s3")
    s3 = aws("s3")
    s3.create_bucket(Bucket=bucket)
    faults.inject(endpoint, service="s3", operation="PutObject", error="SlowDown", match=f"{bucket}/big")
    faults.inject(endpoint, service="s3", operation="GetObject", error="InternalError", match=bucket)
    code, status, message, headers = error_of(lambda: s3.put_object(Bucket=bucket, Key="big", Body=b"x" * 300_000))
    assert (code, status, message) == ("SlowDown", 503, "Please reduce your request rate.")
    assert headers["content-type"] == "application/xml"
    # The same connection carries the next requests: the refused body did not linger on it.
    s3.put_object(Bucket=bucket, Key="small", Body=b"y")
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="small"))[:2] == ("InternalError", 500)
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"y"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["small"]


def test_unmatched_and_unsigned_requests_are_untouched(endpoint, aws):
    faults.inject(endpoint, service="s3", operation="*", error="SlowDown", count=None, match="faults-nobody-*")
    faults.inject(endpoint, service="sts", operation="GetCallerIdentity", error="Throttling", status=400)
    assert aws("s3").list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    code, status, _, _ = error_of(lambda: aws("sts").get_caller_identity())
    assert (code, status) == ("Throttling", 400), "query protocol errors parse too"
    with urllib.request.urlopen(endpoint + "/_localcloud/health") as health:
        assert health.status == 200
