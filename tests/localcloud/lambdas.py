"""Builds and deploys small Lambda functions for the tests, and the stub sources several share."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile

from tests.support import unique

ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    }
)


# Stubs for tests about the function's surroundings rather than its code.
RETURNS_ONE = "def handler(event, context):\n    return 1\n"
# Sleeps ``event["sleep"]`` seconds (none without it) and answers its pid: which environment ran it.
SLEEPER = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return os.getpid()
"""
# The smallest API Gateway proxy answer.
PROXY_OK = """
def handler(event, context):
    return {"statusCode": 200, "body": "ok"}
"""
# Answers with what API Gateway handed it: the route it matched and the event's other fields.
ECHO_PROXY = """
import json

def handler(event, context):
    seen = {k: event.get(k) for k in ("pathParameters", "isBase64Encoded", "body")}
    return {"statusCode": 200, "body": json.dumps({"route": f"{event['httpMethod']} {event['resource']}", **seen})}
"""
# Answers with its event: a function that exists, for tests about what surrounds it.
RETURNS_EVENT = "def handler(event, context):\n    return event\n"


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from {path: source}; sources are dedented."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


# The local cloud enforces IAM (issue 11): the functions of its own tests act with a role that
# may do anything, so each test is about what it tests. Least privilege is proved on the
# workbook's own policies (tests/test_least_privilege.py) and enforcement in test_iam_enforcement.py.
ANYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def role_arn(iam, name: str = "localcloud-test-lambda-role") -> str:
    """The tests' role (or another of that name), created once, allowed anything."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="anything", PolicyDocument=ANYTHING)
    return arn


def allow_apigateway(lambda_client, name: str) -> None:
    """Let any API of the test account invoke the function (its resource-based policy), as AWS requires."""
    lambda_client.add_permission(FunctionName=name, StatementId=unique("apigateway"),
                                 Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                                 SourceArn="arn:aws:execute-api:us-east-1:123456789012:*")


def deploy(lambda_client, iam, source: str, *, name: str | None = None, handler: str = "app.handler",
           extra_files: dict[str, str] | None = None, **config) -> str:
    """Create a function whose app.py is ``source``; returns its name (unique unless given)."""
    name = name or unique("fn")
    files = {"app.py": source, **(extra_files or {})}
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(iam),
        Handler=handler,
        Code={"ZipFile": make_zip(files)},
        **config,
    )
    return name


def allow_s3(lambda_client, name: str, bucket: str) -> None:
    """Let the bucket's event notifications invoke the function (its resource-based policy)."""
    lambda_client.add_permission(FunctionName=name, StatementId=unique("s3"),
                                 Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                                 SourceArn=f"arn:aws:s3:::{bucket}", SourceAccount="123456789012")
