"""The Lambda runtime really runs handlers, as Lambda would (issue point 2)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from localcloud import iam as iam_client
from localcloud import process
from tests.localcloud.lambdas import RETURNS_ONE, SLEEPER, allow_s3, deploy, make_zip
from tests.support import unique

INTROSPECT = """
import os, time
STARTED = time.time()
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "pid": os.getpid(), "calls": CALLS, "started": STARTED, "event": event,
        "env": {k: os.environ.get(k) for k in [
            "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_VERSION", "LAMBDA_TASK_ROOT", "_HANDLER", "COLOUR"]},
        "context": {
            "aws_request_id": context.aws_request_id, "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb, "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
"""


def call(lam, name: str, event: dict | None = None, **kwargs):
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


@pytest.fixture(scope="module")
def introspect(lam, iam):
    return deploy(lam, iam, INTROSPECT, MemorySize=256, Timeout=7, Environment={"Variables": {"COLOUR": "teal"}})


def test_handler_sees_lambda_environment_and_context(lam, introspect):
    response, result = call(lam, introspect, {"hello": "world"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert result["event"] == {"hello": "world"}
    env = result["env"]
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == introspect
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["_HANDLER"] == "app.handler"
    assert env["COLOUR"] == "teal"
    assert env["LAMBDA_TASK_ROOT"]
    ctx = result["context"]
    assert ctx["function_name"] == introspect
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{introspect}"
    assert ctx["memory_limit_in_mb"] == 256
    assert ctx["log_group_name"] == f"/aws/lambda/{introspect}"
    assert "[$LATEST]" in ctx["log_stream_name"]
    assert 0 < ctx["remaining_ms"] <= 7000
    uuid.UUID(ctx["aws_request_id"])


def test_warm_environment_runs_module_code_once(lam, introspect):
    _, first = call(lam, introspect)
    _, second = call(lam, introspect)
    assert second["pid"] == first["pid"]
    assert second["started"] == first["started"]
    assert second["calls"] == first["calls"] + 1


def test_concurrent_invocations_get_separate_environments(lam, introspect):
    results: list[dict] = []

    def run() -> None:
        results.append(call(lam, introspect, {"sleep": 1})[1])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r["pid"] for r in results}) == 2


def test_configuration_change_replaces_the_environment(lam, iam):
    name = deploy(lam, iam, INTROSPECT, Environment={"Variables": {"COLOUR": "red"}})
    _, before = call(lam, name)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}})
    _, after = call(lam, name)
    assert (before["env"]["COLOUR"], after["env"]["COLOUR"]) == ("red", "blue")
    assert after["pid"] != before["pid"] and after["calls"] == 1


def test_code_change_replaces_the_environment(lam, iam):
    name = deploy(lam, iam, "def handler(event, context):\n    return 'v1'\n")
    assert call(lam, name)[1] == "v1"
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"}))
    assert call(lam, name)[1] == "v2"


def test_boto3_in_the_handler_reaches_the_local_cloud(lam, iam, client):
    bucket = unique("handler")
    client("s3").create_bucket(Bucket=bucket)
    source = """
    import boto3
    def handler(event, context):
        s3 = boto3.client("s3")
        s3.put_object(Bucket=event["bucket"], Key="from-lambda.txt", Body=b"hi")
        return [o["Key"] for o in s3.list_objects_v2(Bucket=event["bucket"])["Contents"]]
    """
    name = deploy(lam, iam, source)
    assert call(lam, name, {"bucket": bucket})[1] == ["from-lambda.txt"]


def test_handler_cannot_import_the_workbooks_packages(lam, iam):
    name = deploy(lam, iam, "import PIL\n\ndef handler(event, context):\n    return 1\n")
    response, error = call(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'app': No module named 'PIL'"


def test_layers_are_importable(lam, iam):
    layer = lam.publish_layer_version(
        LayerName=unique("layer"),
        Content={"ZipFile": make_zip({"python/greeting.py": "WORD = 'from a layer'\n"})},
        CompatibleRuntimes=["python3.12"],
    )
    source = "import greeting\n\ndef handler(event, context):\n    return greeting.WORD\n"
    name = deploy(lam, iam, source, Layers=[layer["LayerVersionArn"]])
    assert call(lam, name)[1] == "from a layer"


def test_unhandled_exception_returns_lambdas_error_document(lam, iam):
    source = """
    class ImageTooSmall(Exception):
        pass

    def handler(event, context):
        raise ImageTooSmall("image is 10x10; at least 80x80 is needed")
    """
    name = deploy(lam, iam, source)
    response, error = call(lam, name)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ImageTooSmall"
    assert error["errorMessage"] == "image is 10x10; at least 80x80 is needed"
    assert len(error["stackTrace"]) == 1 and "in handler" in error["stackTrace"][0]
    assert "bootstrap.py" not in json.dumps(error)


def test_timeout_is_enforced_with_lambdas_error(lam, iam, client):
    name = deploy(lam, iam, SLEEPER, Timeout=1)
    _, pid_before = call(lam, name)
    response, error = call(lam, name, {"sleep": 3}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in tail and "Status: timeout" in tail
    _, pid_after = call(lam, name)
    assert pid_after != pid_before  # the timed-out environment was discarded


def test_output_lands_in_cloudwatch_logs_with_report_lines(lam, iam, client):
    source = """
    import logging
    logger = logging.getLogger()
    logger.setLevel(logging.INFO)

    def handler(event, context):
        print("printed line")
        logger.info("logged line")
        return "ok"
    """
    name = deploy(lam, iam, source, MemorySize=512)
    response, _ = call(lam, name, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    logs = client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    messages = [e["message"] for e in logs.get_log_events(
        logGroupName=f"/aws/lambda/{name}", logStreamName=streams[0]["logStreamName"])["events"]]
    assert messages[0].startswith("START RequestId: ") and messages[0].endswith("Version: $LATEST")
    assert "printed line" in messages
    assert any(m.startswith("[INFO]\t") and m.endswith("\tlogged line") for m in messages)
    assert messages[-2].startswith("END RequestId: ")
    report = messages[-1]
    for field in ("Duration: ", "Billed Duration: ", "Memory Size: 512 MB", "Max Memory Used: ", "Init Duration: "):
        assert field in report
    assert tail.splitlines() == messages


def test_log_tail_is_the_last_4_kb(lam, iam):
    source = ("def handler(event, context):\n    for i in range(400):\n        print(f'line {i:04d} ' + 'x' * 40)\n"
              "    return 1\n")
    name = deploy(lam, iam, source)
    response, _ = call(lam, name, LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert 4000 < len(tail) <= 4096
    assert tail.decode().splitlines()[-1].startswith("REPORT RequestId: ")
    assert b"line 0000" not in tail and b"line 0399" in tail


def test_event_invocation_runs_in_the_background(lam, iam, client):
    bucket = unique("event")
    client("s3").create_bucket(Bucket=bucket)
    source = """
    import boto3
    def handler(event, context):
        boto3.client("s3").put_object(Bucket=event["bucket"], Key="done", Body=b"1")
    """
    name = deploy(lam, iam, source)
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"bucket": bucket}))
    assert response["StatusCode"] == 202
    assert wait_for_object(client("s3"), bucket, "done")


def test_s3_notification_invokes_the_function_only_with_its_permission(lam, iam, client, localcloud):
    bucket = unique("notify")
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    source = f"""
    import boto3
    from urllib.parse import unquote_plus

    def handler(event, context):
        # S3 event keys arrive URL-encoded, on AWS as here.
        key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
        boto3.client("s3").put_object(Bucket="{bucket}", Key="seen/" + key, Body=b"1")
    """
    name = deploy(lam, iam, source)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    configuration = {"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [
            {"Name": "prefix", "Value": "in/"}]}}}]}
    # S3 checks it may invoke the function before it takes the configuration (issue 11).
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidArgument",
                                                 "Unable to validate the following destination configurations")
    allow_s3(lam, name, bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    s3.put_object(Bucket=bucket, Key="in/photo.jpg", Body=b"...")
    assert wait_for_object(s3, bucket, "seen/in/photo.jpg")
    # A permission removed later: S3 drops the events, silently (the local cloud logs the denial).
    sid = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][0]["Sid"]
    lam.remove_permission(FunctionName=name, StatementId=sid)
    iam_client.clear_denials(localcloud)
    s3.put_object(Bucket=bucket, Key="in/late.jpg", Body=b"...")
    denied = [d for d in iam_client.denials(localcloud) if d["resource"] == arn]
    assert denied and denied[0]["principal"] == "s3.amazonaws.com", iam_client.denials(localcloud)
    time.sleep(1)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="seen/in/late")


def test_payload_limits(lam, introspect):
    big = json.dumps({"data": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as sync_error:
        lam.invoke(FunctionName=introspect, Payload=big)
    assert sync_error.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert sync_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    medium = json.dumps({"data": "x" * (300 * 1024)}).encode()
    with pytest.raises(ClientError) as async_error:
        lam.invoke(FunctionName=introspect, Payload=medium, InvocationType="Event")
    assert async_error.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert call(lam, introspect, {"data": "x" * (300 * 1024)})[0]["StatusCode"] == 200


def test_response_over_6_mb_is_an_error(lam, iam):
    name = deploy(lam, iam, "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")
    response, error = call(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"


def test_unknown_function_is_not_found(lam):
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function")


def test_idle_environments_are_reaped(lam, iam, localcloud):
    name = deploy(lam, iam, RETURNS_ONE)
    call(lam, name)
    assert warm_count(localcloud, name) == 1
    deadline = time.monotonic() + 30
    while warm_count(localcloud, name) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert warm_count(localcloud, name) == 0


def warm_count(endpoint: str, name: str) -> int:
    return process.status(int(endpoint.rsplit(":", 1)[1]))["warm_environments"].get(name, 0)


def wait_for_object(s3, bucket: str, key: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            time.sleep(0.2)
    return False


def test_handler_that_exits_the_process_gives_runtime_exit_error(lam, iam):
    name = deploy(lam, iam, "import sys\n\ndef handler(event, context):\n    sys.exit(3)\n")
    response, error = call(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")


def test_payload_that_is_not_json_is_refused(lam, introspect):
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=introspect, Payload=b"not json")
    assert error.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_handler_whose_result_is_not_json_gives_marshal_error(lam, iam):
    name = deploy(lam, iam, "def handler(event, context):\n    return {1, 2}\n")
    response, error = call(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"


def test_import_path_holds_only_the_package_layers_runtime_and_stdlib(lam, iam):
    source = "import sys\n\ndef handler(event, context):\n    return sys.path\n"
    name = deploy(lam, iam, source)
    path = call(lam, name)[1]
    assert path[0].endswith(tuple("0123456789abcdef"))  # the unpacked package, by content hash
    assert not any("site-packages" in p and "/opt/" not in p for p in path)
    assert not any(p.endswith("awslambda") for p in path)


def test_each_environment_has_its_own_temporary_directory(lam, iam):
    source = """
    import tempfile
    def handler(event, context):
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(b"scratch")
        return tempfile.gettempdir()
    """
    name = deploy(lam, iam, source)
    first = call(lam, name)[1]
    assert first.endswith(".tmp") and first != "/tmp"
    assert call(lam, name)[1] == first  # the warm environment keeps its scratch space
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"V": "2"}})
    assert call(lam, name)[1] != first  # a new environment gets a new one
