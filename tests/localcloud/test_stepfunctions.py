"""Step Functions executions in the local cloud, through boto3 as a learner's notebook uses it.

Each test creates its own state machines and functions (unique names) and waits for a
terminal status with a bounded poll, so no test depends on timing or on another test.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localcloud import lambdas
from tests.support import unique

ROLE_ARN = "arn:aws:iam::123456789012:role/sfn"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LIMIT = 262_144
JSONATA = {"QueryLanguage": "JSONata"}
STATES_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

ECHO = """
def handler(event, context):
    return {"echo": event}
"""
IMAGE_TOO_SMALL = """
class ImageTooSmall(Exception):
    pass

def handler(event, context):
    raise ImageTooSmall("width 10 < 100")
"""
TOO_LARGE_RESULT = """
def handler(event, context):
    return "x" * 300000
"""


@pytest.fixture(scope="module")
def sfn(client):
    lambdas.role_arn(client("iam"), ROLE_ARN.rsplit("/", 1)[1])  # the state machines' role must exist and allow
    return client("stepfunctions")


@pytest.fixture(scope="module")
def functions(client):
    """Deploys a function from source once per module; returns its name and ARN."""
    lambda_client, iam = client("lambda"), client("iam")
    deployed: dict[str, tuple[str, str]] = {}

    def deploy(source: str) -> tuple[str, str]:
        if source not in deployed:
            name = lambdas.deploy(lambda_client, iam, source)
            arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            deployed[source] = (name, arn)
        return deployed[source]

    return deploy


def create_machine(sfn, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]


def wait_for_terminal(sfn, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL:
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still {described['status']} after {timeout} s")
        time.sleep(0.1)


def run(sfn, definition: dict[str, Any], execution_input: Any = None) -> tuple[dict[str, Any], list[dict]]:
    """Start one execution, wait for it to end; returns (DescribeExecution, history events)."""
    machine_arn = create_machine(sfn, definition)
    started = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(execution_input or {}))
    described = wait_for_terminal(sfn, started["executionArn"])
    events = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]
    return described, events


def output_of(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    return json.loads(described["output"])


def types(events: list[dict]) -> list[str]:
    return [event["type"] for event in events]


def details(events: list[dict], event_type: str) -> list[dict]:
    """The details of every event of one type (PassStateExited -> stateExitedEventDetails)."""
    if event_type.endswith("StateEntered"):
        key = "stateEnteredEventDetails"
    elif event_type.endswith("StateExited"):
        key = "stateExitedEventDetails"
    else:
        key = event_type[0].lower() + event_type[1:] + "EventDetails"
    return [event.get(key, {}) for event in events if event["type"] == event_type]


# --- JSONata ---------------------------------------------------------------------------


def test_jsonata_output_assign_condition_and_context(sfn):
    # Quotes, a backslash, a newline and non-ASCII text travel through $states.input and
    # Assign variables: moto wrote them into the JSONata program unescaped.
    tricky = 'O\'Brien "Ann" \\ é😀\nline 2'
    definition = {
        **JSONATA,
        "StartAt": "Measure",
        "States": {
            "Measure": {
                "Type": "Pass",
                "Assign": {"owner": "{% $states.input.owner %}", "bucket": "images"},
                "Output": {"count": "{% $count($states.input.sizes) %}", "largest": "{% $max($states.input.sizes) %}"},
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.largest > 1000 %}",
                        "Output": {"route": "big", "count": "{% $states.input.count %}"},
                        "Next": "Describe",
                    }
                ],
                "Default": "Small",
            },
            "Describe": {
                "Type": "Pass",
                "Output": {
                    "route": "{% $states.input.route %}",
                    "key": "{% $bucket & '/' & $string($states.input.count) %}",
                    "owner": "{% $owner %}",
                    "state": "{% $states.context.State.Name %}",
                    "execution": "{% $states.context.Execution.Name %}",
                },
                "End": True,
            },
            "Small": {"Type": "Succeed"},
        },
    }
    machine_arn = create_machine(sfn, definition)
    started = sfn.start_execution(
        stateMachineArn=machine_arn, name="exec-jsonata", input=json.dumps({"owner": tricky, "sizes": [10, 2048, 300]})
    )
    described = wait_for_terminal(sfn, started["executionArn"])

    assert output_of(described) == {
        "route": "big", "key": "images/3", "owner": tricky, "state": "Describe", "execution": "exec-jsonata",
    }
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    measured = details(events, "PassStateExited")[0]
    assert measured["name"] == "Measure"
    assert {name: json.loads(value) for name, value in measured["assignedVariables"].items()} == {
        "owner": tricky, "bucket": "images",
    }


def test_jsonata_functions_step_functions_adds(sfn):
    described, _ = run(sfn, {
        **JSONATA,
        "StartAt": "F",
        "States": {"F": {"Type": "Pass", "End": True, "Output": {
            "hash": "{% $hash('abc', 'SHA-256') %}",
            "parsed": "{% $parse($states.input.text) %}",
            "id": "{% $uuid() %}",
            "chunks": "{% $partition([1, 2, 3, 4, 5], 2) %}",
            "range": "{% $range(0, 10, 5) %}",
            "null": "{% null %}",
        }}},
    }, {"text": '{"labels": ["cat", null]}'})

    output = output_of(described)
    assert UUID.match(output.pop("id"))
    assert output == {
        "hash": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "parsed": {"labels": ["cat", None]},
        "chunks": [[1, 2], [3, 4], [5]],
        "range": [0, 5, 10],
        "null": None,
    }


@pytest.mark.parametrize("expression, cause", [
    # $eval is not available on AWS ("use $parse instead").
    ("$eval('1 + 1')", "threw an error during evaluation. T1006: Attempted to invoke a non-function"),
    ("$parse('{bad')", "threw an error during evaluation. D3120: Malformed JSON passed to function parse"),
    ("$uppercase", "returned an unsupported result type."),
])
def test_other_jsonata_failures_are_query_evaluation_errors(sfn, expression, cause):
    described, _ = run(sfn, {**JSONATA, "StartAt": "E", "States": {
        "E": {"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}}})

    assert (described["status"], described["error"]) == ("FAILED", "States.QueryEvaluationError")
    prefix = "An error occurred while executing the state 'E' (entered at the event id #2). "
    assert described["cause"].startswith(f"{prefix}The JSONata expression '{expression}' {cause}")


def test_jsonata_evaluation_error_fails_with_query_evaluation_error(sfn):
    described, events = run(sfn, {
        **JSONATA,
        "StartAt": "Add",
        "States": {"Add": {"Type": "Pass", "Output": "{% $states.input.width + 1 %}", "End": True}},
    }, {"width": "wide"})

    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"
    cause = (
        "An error occurred while executing the state 'Add' (entered at the event id #2). "
        "The JSONata expression '$states.input.width + 1' threw an error during evaluation. "
        "T2001: The left side of the + operator must evaluate to a number"
    )
    assert described["cause"] == cause
    assert types(events) == ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"]
    assert details(events, "EvaluationFailed") == [
        {"error": "States.QueryEvaluationError", "cause": cause, "state": "Add"}
    ]


def test_jsonata_undefined_result_fails_with_query_evaluation_error(sfn):
    described, _ = run(sfn, {
        **JSONATA,
        "StartAt": "Read",
        "States": {"Read": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True}},
    })

    assert (described["status"], described["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert described["cause"] == (
        "An error occurred while executing the state 'Read' (entered at the event id #2). "
        "The JSONata expression '$states.input.missing' returned nothing (undefined)."
    )


def test_jsonata_error_in_task_arguments_is_caught_once(sfn):
    # The function is never invoked: the Arguments fail first.
    described, events = run(sfn, {
        **JSONATA,
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": unique("never-called"), "Payload": {"w": "{% $states.input.w * 2 %}"}},
                "Catch": [{
                    "ErrorEquals": ["States.QueryEvaluationError"],
                    "Output": {"error": "{% $states.errorOutput.Error %}"},
                    "Next": "Handled",
                }],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }, {"w": "x"})

    assert output_of(described) == {"error": "States.QueryEvaluationError"}
    assert types(events) == [
        "ExecutionStarted", "TaskStateEntered", "EvaluationFailed", "TaskStateExited",
        "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]


def test_jsonata_lambda_task(sfn, functions):
    name, _ = functions(ECHO)
    described, events = run(sfn, {
        **JSONATA,
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": name, "Payload": "{% $states.input %}"},
                "Assign": {"status": "{% $states.result.StatusCode %}"},
                "Output": "{% $merge([$states.result.Payload, {'status': $status}]) %}",
                "End": True,
            }
        },
    }, {"key": "cat.jpg"})

    assert output_of(described) == {"echo": {"key": "cat.jpg"}, "status": 200}
    assert json.loads(details(events, "TaskScheduled")[0]["parameters"]) == {
        "FunctionName": name, "Payload": {"key": "cat.jpg"},
    }


@pytest.mark.parametrize("output, text", [
    ("{% $states.input.key %}", '"cat.jpg"'),
    ("{% $states.input.braces %}", '"{}"'),
    ({"key": "{% $states.input.key %}", "n": 1}, '{"key":"cat.jpg","n":1}'),
])
def test_describe_execution_output_is_json_text(sfn, output, text):
    definition = {**JSONATA, "StartAt": "O", "States": {"O": {"Type": "Pass", "Output": output, "End": True}}}
    described, _ = run(sfn, definition, {"key": "cat.jpg", "braces": "{}"})

    assert described["output"] == text


# --- 256 KiB payload limit -------------------------------------------------------------


def _pad_machine(length: int, character: str) -> dict[str, Any]:
    # The state's output is {"s":"<length characters>"}: 8 bytes of JSON around them.
    return {**JSONATA, "StartAt": "Grow", "States": {
        "Grow": {"Type": "Pass", "Output": {"s": f"{{% $pad('', {length}, '{character}') %}}"}, "End": True}}}


@pytest.mark.parametrize("character", ["x", "é"])
def test_state_output_of_exactly_256_kib_passes(sfn, character):
    # Measured as AWS does: compact JSON, UTF-8 (é is 2 bytes, not a 6-byte \u00e9 escape).
    length = (LIMIT - 8) // len(character.encode())
    assert len(json.dumps({"s": character * length}, ensure_ascii=False, separators=(",", ":")).encode()) == LIMIT
    described, events = run(sfn, _pad_machine(length, character))

    assert output_of(described) == {"s": character * length}
    assert types(events) == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_state_output_over_256_kib_fails_with_data_limit_exceeded(sfn):
    described, events = run(sfn, _pad_machine(LIMIT - 7, "x"))  # one byte over

    assert (described["status"], described["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert described["cause"] == (
        "The state/task 'Grow' returned a result with a size exceeding the maximum number of bytes service limit."
    )
    assert types(events) == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize("form", ["lambda:invoke", "function ARN"])
def test_lambda_result_over_256_kib_fails_the_task(sfn, functions, form):
    # AWS records this as a task failure that Catch (even States.ALL) handles.
    name, arn = functions(TOO_LARGE_RESULT)
    if form == "lambda:invoke":
        task = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": name, "Payload.$": "$"}}
        failed, subject = "TaskFailed", "lambda"
    else:
        task, failed, subject = {"Resource": arn}, "LambdaFunctionFailed", arn
    described, events = run(sfn, {"StartAt": "Big", "States": {
        "Big": {"Type": "Task", **task, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": True},
        "Handled": {"Type": "Pass", "End": True},
    }})

    cause = (f"The state/task '{subject}' returned a result with a size exceeding "
             "the maximum number of bytes service limit.")
    assert output_of(described) == {"Error": "States.DataLimitExceeded", "Cause": cause}
    assert details(events, failed) == [
        {"error": "States.DataLimitExceeded", "cause": cause}
        | ({"resource": "invoke", "resourceType": "lambda"} if form == "lambda:invoke" else {})
    ]


def test_start_execution_input_over_256_kib_is_rejected(sfn):
    machine_arn = create_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    exactly = json.dumps({"s": "x" * (LIMIT - len(json.dumps({"s": ""})))})
    assert len(exactly.encode()) == LIMIT

    accepted = sfn.start_execution(stateMachineArn=machine_arn, input=exactly)
    assert wait_for_terminal(sfn, accepted["executionArn"])["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=machine_arn, input=exactly[:-2] + 'é"}')  # one byte more
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        "Member must have size less than or equal to 262144 bytes in UTF-8 encoding",
    )


# --- StartExecution names ----------------------------------------------------------------


def test_unnamed_executions_get_unique_generated_names(sfn):
    machine_arn = create_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arns = [sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"] for _ in range(10)]

    assert len(set(arns)) == 10
    for arn in arns:
        described = wait_for_terminal(sfn, arn)
        assert described["status"] == "SUCCEEDED"
        assert UUID.match(described["name"]) and arn.endswith(":" + described["name"])


def test_same_name_and_input_is_idempotent_only_while_running(sfn):
    machine_arn = create_machine(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": True}}})
    first = sfn.start_execution(stateMachineArn=machine_arn, name="resize-1", input='{"k": 1}')
    again = sfn.start_execution(stateMachineArn=machine_arn, name="resize-1", input='{"k": 1}')
    assert (again["executionArn"], again["startDate"]) == (first["executionArn"], first["startDate"])

    with pytest.raises(ClientError) as different_input:
        sfn.start_execution(stateMachineArn=machine_arn, name="resize-1", input='{"k": 2}')
    assert different_input.value.response["Error"]["Code"] == "ExecutionAlreadyExists"

    sfn.stop_execution(executionArn=first["executionArn"])
    assert wait_for_terminal(sfn, first["executionArn"])["status"] == "ABORTED"
    with pytest.raises(ClientError) as closed:
        sfn.start_execution(stateMachineArn=machine_arn, name="resize-1", input='{"k": 1}')
    assert closed.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_name_of_a_succeeded_execution_cannot_be_reused(sfn):
    machine_arn = create_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    done = sfn.start_execution(stateMachineArn=machine_arn, name="once", input="{}")
    assert wait_for_terminal(sfn, done["executionArn"])["status"] == "SUCCEEDED"

    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=machine_arn, name="once", input="{}")
    assert raised.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_invalid_execution_names_are_refused(sfn):
    machine_arn = create_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as spaced:
        sfn.start_execution(stateMachineArn=machine_arn, name="cat picture", input="{}")
    with pytest.raises(ClientError) as long:
        sfn.start_execution(stateMachineArn=machine_arn, name="x" * 81, input="{}")

    assert spaced.value.response["Error"]["Code"] == "InvalidName"
    assert long.value.response["Error"]["Code"] == "ValidationException"
    assert long.value.response["Error"]["Message"].endswith(
        "at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"
    )


# --- Lambda tasks, Retry, Catch, history --------------------------------------------------


def test_lambda_task_in_both_resource_forms(sfn, functions):
    name, arn = functions(ECHO)
    wrapped, wrapped_events = run(sfn, {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": name, "Payload.$": "$"}, "End": True}}}, {"key": "a.png"})
    plain, plain_events = run(sfn, {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": arn, "End": True}}}, {"key": "a.png"})

    result = output_of(wrapped)
    assert (result["Payload"], result["StatusCode"]) == ({"echo": {"key": "a.png"}}, 200)
    assert output_of(plain) == {"echo": {"key": "a.png"}}
    assert types(wrapped_events) == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded",
        "TaskStateExited", "ExecutionSucceeded",
    ]
    assert types(plain_events) == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
        "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    assert details(plain_events, "LambdaFunctionScheduled")[0]["resource"] == arn


def test_retry_then_catch_on_the_exception_class_name(sfn, functions):
    _, arn = functions(IMAGE_TOO_SMALL)
    described, events = run(sfn, {"StartAt": "Check", "States": {
        "Check": {
            "Type": "Task",
            "Resource": arn,
            "Retry": [
                # AWS's transient Lambda errors: valid names, and not what this handler raises.
                {"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                                 "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
                 "MaxAttempts": 5},
                {"ErrorEquals": ["ImageTooSmall"], "IntervalSeconds": 1, "MaxAttempts": 1},
            ],
            "Catch": [{"ErrorEquals": ["ImageTooSmall"], "ResultPath": "$.error", "Next": "Rejected"}],
            "End": True,
        },
        "Rejected": {"Type": "Pass", "End": True},
    }}, {"key": "tiny.png"})

    output = output_of(described)
    assert output["key"] == "tiny.png" and output["error"]["Error"] == "ImageTooSmall"
    cause = json.loads(output["error"]["Cause"])
    assert (cause["errorType"], cause["errorMessage"]) == ("ImageTooSmall", "width 10 < 100")
    assert types(events) == [
        "ExecutionStarted", "TaskStateEntered",
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",  # first attempt
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",  # one retry
        "TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]
    assert [d["error"] for d in details(events, "LambdaFunctionFailed")] == ["ImageTooSmall", "ImageTooSmall"]


def test_states_task_failed_matches_a_handler_exception(sfn, functions):
    name, _ = functions(IMAGE_TOO_SMALL)
    described, events = run(sfn, {"StartAt": "Check", "States": {
        "Check": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": name, "Payload.$": "$"},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Rejected"}],
            "End": True,
        },
        "Rejected": {"Type": "Pass", "End": True},
    }})

    assert output_of(described)["Error"] == "ImageTooSmall"
    assert details(events, "TaskFailed")[0]["error"] == "ImageTooSmall"
    assert types(events)[-4:] == ["TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


@pytest.mark.parametrize("form", ["lambda:invoke", "function ARN"])
def test_lambda_service_errors_are_named_after_the_lambda_error_code(sfn, form):
    missing = unique("missing")
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{missing}"
    if form == "lambda:invoke":
        task = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": missing, "Payload": {}}}
        failed = "TaskFailed"
    else:
        task, failed = {"Resource": arn}, "LambdaFunctionFailed"
    described, events = run(sfn, {"StartAt": "T", "States": {
        "T": {"Type": "Task", **task, "End": True,
              "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "Next": "Handled"}]},
        "Handled": {"Type": "Pass", "End": True},
    }})

    output = output_of(described)
    assert output["Error"] == "Lambda.ResourceNotFoundException"
    assert output["Cause"].startswith(f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; "
                                      "Error Code: ResourceNotFoundException; Request ID: ")
    assert details(events, failed)[0]["error"] == "Lambda.ResourceNotFoundException"


def test_states_runtime_is_not_caught_by_states_all(sfn):
    # A path that matches nothing in the input is an error of the workflow itself.
    described, events = run(sfn, {"StartAt": "T", "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": unique("never-called"), "Payload": {"key.$": "$.missing"}},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
            "End": True,
        },
        "Handled": {"Type": "Pass", "End": True},
    }}, {"key": "cat.jpg"})

    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"].startswith(
        "An error occurred while executing the state 'T' (entered at the event id #2). The JSONPath '$.missing' "
    )
    assert types(events)[-1] == "ExecutionFailed"
    assert "PassStateEntered" not in types(events)


def test_history_of_an_uncaught_failure(sfn, functions):
    _, arn = functions(IMAGE_TOO_SMALL)
    described, events = run(sfn, {"StartAt": "Check", "States": {
        "Check": {"Type": "Task", "Resource": arn, "End": True}}})

    assert (described["status"], described["error"]) == ("FAILED", "ImageTooSmall")
    assert types(events) == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
        "LambdaFunctionFailed", "ExecutionFailed",
    ]
    failed = details(events, "ExecutionFailed")[0]
    assert failed["error"] == "ImageTooSmall"
    assert json.loads(failed["cause"])["errorMessage"] == "width 10 < 100"
    # Each event points at the one before it: enough to draw the path the execution took.
    assert [event["previousEventId"] for event in events] == [0, 0, 2, 3, 4, 5]


def test_three_lambda_jsonpath_pipeline(sfn, functions):
    resize, _ = functions('''
        def handler(event, context):
            return {"thumbnail": "thumbs/" + event["key"], "width": event["width"]}
    ''')
    _, label_arn = functions('''
        def handler(event, context):
            return [{"Name": "Cat", "Confidence": 98.5}, {"Name": event["thumbnail"], "Confidence": 50.0}]
    ''')
    store, _ = functions('''
        def handler(event, context):
            return {"stored": event["key"], "labels": len(event["labels"])}
    ''')
    described, _ = run(sfn, {"StartAt": "Resize", "States": {
        "Resize": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": resize, "Payload": {"key.$": "$.key", "width": 128}},
            "ResultSelector": {"thumbnail.$": "$.Payload.thumbnail", "status.$": "$.StatusCode"},
            "ResultPath": "$.resized",
            "Next": "Label",
        },
        "Label": {
            "Type": "Task",
            "Resource": label_arn,
            "InputPath": "$.resized",
            "ResultPath": "$.labels",
            "Next": "Store",
        },
        "Store": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": store, "Payload.$": "$"},
            "ResultSelector": {"stored.$": "$.Payload.stored", "labelCount.$": "$.Payload.labels"},
            "ResultPath": "$.store",
            "End": True,
        },
    }}, {"key": "cat.jpg"})

    assert output_of(described) == {
        "key": "cat.jpg",
        "resized": {"thumbnail": "thumbs/cat.jpg", "status": 200},
        "labels": [{"Name": "Cat", "Confidence": 98.5}, {"Name": "thumbs/cat.jpg", "Confidence": 50.0}],
        "store": {"stored": "cat.jpg", "labelCount": 2},
    }


def test_invalid_definition_is_refused_with_its_code(sfn):
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name=unique("bad"), roleArn=ROLE_ARN,
                                 definition=json.dumps({"StartAt": "X", "States": {"X": {"Type": "Nope"}}}))
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- Credentials of the service calls ------------------------------------------------------


def test_lambda_calls_sign_as_each_state_machines_own_role(sfn, functions, client):
    """Executions share SDK clients; each still calls Lambda as its own role, which IAM holds to its policies."""
    _, arn = functions(ECHO)
    iam = client("iam")
    refused_role = iam.create_role(RoleName=unique("sfn-no-invoke"),
                                   AssumeRolePolicyDocument=STATES_TRUST)["Role"]["RoleName"]
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    refused_machine = sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                               roleArn=f"arn:aws:iam::123456789012:role/{refused_role}")["stateMachineArn"]

    allowed_before, _ = run(sfn, definition, {"n": 1})
    refused = wait_for_terminal(sfn, sfn.start_execution(stateMachineArn=refused_machine)["executionArn"])
    allowed_after, _ = run(sfn, definition, {"n": 2})

    assert output_of(allowed_before) == {"echo": {"n": 1}}
    assert output_of(allowed_after) == {"echo": {"n": 2}}
    assert refused["status"] == "FAILED", refused
    assert f"assumed-role/{refused_role}/StepFunctions-" in refused["cause"]
    assert f"lambda:InvokeFunction on resource: {arn}" in refused["cause"]
