"""IAM enforced by the local cloud (issue 11): calls signed with a role's credentials get AWS's
AccessDenied, in each service's wire format and with AWS's message, unless the role's policies
allow them; the instance's own key is the account owner's; ``report`` mode only logs.

Each test makes its own role (a unique name), assumes it through the local cloud's STS, as a
Lambda environment's credentials are issued, and calls with those credentials.
"""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import iam as iam_admin
from tests.localcloud.lambdas import PROXY_OK, RETURNS_ONE, ROLE_POLICY, deploy
from tests.support import localcloud_cli, unique

ACCOUNT = "123456789012"
REGION = "us-east-1"
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def endpoint(localcloud):
    iam_admin.set_mode(localcloud, "enforce")
    iam_admin.clear_denials(localcloud)
    yield localcloud
    iam_admin.set_mode(localcloud, "enforce")


@pytest.fixture
def role(client, endpoint):
    """make(statements) -> (a boto3 client factory signed with a session of a new role, its session ARN)."""
    iam, sts = client("iam"), client("sts")

    def make(*statements: dict):
        name = unique("iam-test")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="granted",
                                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
        assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName="tester")
        keys = assumed["Credentials"]

        def as_role(service: str):
            return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=ONE_ATTEMPT,
                                aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                                aws_session_token=keys["SessionToken"])

        return as_role, assumed["AssumedRoleUser"]["Arn"], name

    return make


def refused(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"].get("Message", "")


def allow(action, resource, **more) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


@pytest.fixture
def table(client):
    name = unique("iam-table")
    client("dynamodb").create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                    BillingMode="PAY_PER_REQUEST")
    return name


def test_dynamodb_denial_is_awss_access_denied_with_its_message(role, table):
    as_role, session_arn, _ = role()
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    code, status, message = refused(lambda: as_role("dynamodb").update_item(
        TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "x"}}))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (f"User: {session_arn} is not authorized to perform: dynamodb:UpdateItem on resource: {arn} "
                       "because no identity-based policy allows the dynamodb:UpdateItem action")
    assert session_arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/iam-test-")


def test_an_allowed_action_passes_and_its_neighbours_do_not(role, table):
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    as_role, _, _ = role(allow("dynamodb:PutItem", arn))
    dynamodb = as_role("dynamodb")
    dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}})
    assert refused(lambda: dynamodb.get_item(TableName=table, Key={"id": {"S": "a"}}))[0] == "AccessDeniedException"
    assert refused(lambda: dynamodb.scan(TableName=table))[0] == "AccessDeniedException"


def test_an_explicit_deny_is_named_as_such(role, table):
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    as_role, session_arn, _ = role(allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:Scan",
                                                                "Resource": arn})
    _, _, message = refused(lambda: as_role("dynamodb").scan(TableName=table))
    assert message.endswith(f"dynamodb:Scan on resource: {arn} with an explicit deny in an identity-based policy")


def test_s3_quotes_the_resource_and_a_missing_key_is_403_without_list_bucket(role, client):
    bucket = unique("iam-bucket")
    client("s3").create_bucket(Bucket=bucket)
    client("s3").put_object(Bucket=bucket, Key="images/a.png", Body=b"x")
    as_role, session_arn, name = role(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/images/*"))
    s3 = as_role("s3")
    assert s3.get_object(Bucket=bucket, Key="images/a.png")["Body"].read() == b"x"
    code, status, message = refused(lambda: s3.put_object(Bucket=bucket, Key="images/b.png", Body=b"y"))
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f'User: {session_arn} is not authorized to perform: s3:PutObject on resource: '
                       f'"arn:aws:s3:::{bucket}/images/b.png" because no identity-based policy allows the '
                       's3:PutObject action')
    # S3's documented rule: a missing key is 404 only for a caller that may list the bucket.
    assert refused(lambda: s3.head_object(Bucket=bucket, Key="images/none.png"))[:2] == ("403", 403)
    assert refused(lambda: s3.get_object(Bucket=bucket, Key="images/none.png"))[:2] == ("AccessDenied", 403)
    client("iam").put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("s3:ListBucket", f"arn:aws:s3:::{bucket}")]}))
    assert refused(lambda: s3.head_object(Bucket=bucket, Key="images/none.png"))[:2] == ("404", 404)
    assert refused(lambda: s3.get_object(Bucket=bucket, Key="images/none.png"))[:2] == ("NoSuchKey", 404)


def test_lambda_invoke_needs_invoke_function_and_is_403(role, client):
    function = deploy(client("lambda"), client("iam"), RETURNS_ONE)
    as_role, session_arn, _ = role()
    code, status, message = refused(lambda: as_role("lambda").invoke(FunctionName=function))
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"lambda:InvokeFunction on resource: {arn} because" in message


def test_rekognition_without_s3_read_is_invalid_s3_object(role, client):
    bucket = unique("iam-rek")
    client("s3").create_bucket(Bucket=bucket)
    as_role, session_arn, _ = role(allow("rekognition:DetectLabels", "*"))
    image = {"S3Object": {"Bucket": bucket, "Name": "images/a.png"}}
    code, status, message = refused(lambda: as_role("rekognition").detect_labels(Image=image))
    assert (code, status) == ("InvalidS3ObjectException", 400)
    assert message == "Unable to get object metadata from S3. Check object key, region and/or access permissions."
    denied = iam_admin.denials(client("s3").meta.endpoint_url)[-1]
    assert (denied["action"], denied["resource"]) == ("s3:GetObject", f"arn:aws:s3:::{bucket}/images/a.png")
    # No resource type: AWS's message names no resource.
    other, _, _ = role()
    message = refused(lambda: other("rekognition").detect_labels(Image=image))[2]
    assert message.endswith("is not authorized to perform: rekognition:DetectLabels because no identity-based "
                            "policy allows the rekognition:DetectLabels action")


def test_step_functions_logs_sts_and_iam(role, client):
    as_role, session_arn, _ = role()
    assert as_role("sts").get_caller_identity()["Arn"] == session_arn  # needs no permission
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nowhere"
    assert refused(lambda: as_role("stepfunctions").start_execution(stateMachineArn=machine))[:2] == \
        ("AccessDeniedException", 400)
    assert refused(lambda: as_role("logs").create_log_group(logGroupName="/iam/test"))[:2] == \
        ("AccessDeniedException", 400)
    code, status, message = refused(lambda: as_role("iam").list_roles())
    assert (code, status) == ("AccessDenied", 403)


def test_the_instance_key_is_the_account_owner_and_is_not_evaluated(client, table):
    client("dynamodb").scan(TableName=table)


def test_report_mode_lets_the_call_through_and_keeps_what_would_be_denied(role, table, endpoint):
    as_role, session_arn, _ = role()
    iam_admin.set_mode(endpoint, "report")
    as_role("dynamodb").scan(TableName=table)
    kept = iam_admin.denials(endpoint)[-1]
    assert (kept["action"], kept["enforced"], kept["principal"]) == ("dynamodb:Scan", False, session_arn)
    iam_admin.set_mode(endpoint, "off")
    as_role("dynamodb").scan(TableName=table)
    assert len(iam_admin.denials(endpoint)) == 1


def test_the_cli_shows_and_sets_the_mode_and_lists_denials(role, table, endpoint):
    port = endpoint.rsplit(":", 1)[1]

    def run(*args: str) -> subprocess.CompletedProcess:
        return localcloud_cli("iam", *args, "--port", port)

    assert run("mode").stdout.strip() == "enforce"
    as_role, _, name = role()
    refused(lambda: as_role("dynamodb").scan(TableName=table))
    listed = run("denials").stdout
    assert f"denied dynamodb:Scan on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table} for {name}" in listed
    assert run("mode", "report").stdout.strip() == "report"


def test_api_gateway_without_the_lambda_permission_answers_500_as_aws(client, localcloud):
    lam, apigw = client("lambda"), client("apigateway")
    function = deploy(lam, client("iam"), PROXY_OK)
    arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    api = apigw.create_rest_api(name=unique("iam-api"))["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations")
    apigw.create_deployment(restApiId=api, stageName="v1")
    url = f"{localcloud}/_aws/execute-api/{api}/v1/"
    answer = requests.get(url, timeout=30)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal server error"})
    denied = iam_admin.denials(localcloud)[-1]
    assert (denied["principal"], denied["resource"]) == ("apigateway.amazonaws.com", arn)
    # Allowed from another API only: still refused. From this API's GET /: served.
    lam.add_permission(FunctionName=function, StatementId="elsewhere", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:other/*/GET/")
    assert requests.get(url, timeout=30).status_code == 500
    lam.add_permission(FunctionName=function, StatementId="this-api", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/GET/")
    assert (requests.get(url, timeout=30).status_code, requests.get(url, timeout=30).text) == (200, "ok")
