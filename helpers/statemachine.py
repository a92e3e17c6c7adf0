"""The image pipeline's state machine: its definition file, deployment and executions.

The definition lives in ``statemachine/NAME.asl.json`` (committed). It names the three
Lambda functions by placeholders (``${ImageUploaderArn}``, the syntax of SAM's and
CloudFormation's ``DefinitionSubstitutions``), so one file serves every prefix and account;
:func:`render` fills them in from ``wb.names`` just before :func:`ensure` deploys it.

Executions are named after the image id (see docs/pipeline.md): :func:`start` treats
"an execution of that name already exists" as success and returns that execution, so
submitting the same image twice never runs the pipeline twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import iam, workspace
from .workbook import Workbook

DEFAULT_NAME = "image_pipeline"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

# placeholder -> the pipeline function whose ARN replaces it
FUNCTION_PLACEHOLDERS = {
    "ImageUploaderArn": "image_uploader",
    "LabelDetectorArn": "label_detector",
    "ResultStoreArn": "result_store",
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")

Definition = dict[str, Any]


class UnresolvedPlaceholder(KeyError):
    """The definition names a ``${Placeholder}`` that render has no value for."""


# --- the definition file ----------------------------------------------------------------


def path(name: str = DEFAULT_NAME) -> Path:
    return workspace.statemachine_dir() / f"{name}.asl.json"


def dumps(definition: Definition) -> str:
    """The file's stable text: indent 2, keys in the order written, trailing newline."""
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def load(name: str = DEFAULT_NAME) -> Definition:
    return json.loads(path(name).read_text(encoding="utf-8"))


def save(definition: Definition, name: str = DEFAULT_NAME) -> str:
    """Write the definition; saving the same definition again leaves the file byte-identical.

    Returns the file's path relative to the repository (what a notebook prints).
    """
    target = path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(definition)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target.relative_to(target.parents[1]).as_posix()


# --- placeholders -----------------------------------------------------------------------


def placeholders(definition: Any) -> set[str]:
    """Every ``${Name}`` the definition still contains."""
    return set(_PLACEHOLDER.findall(json.dumps(definition)))


def substitutions(wb: Workbook) -> dict[str, str]:
    """Placeholder -> value for this workbook's prefix, account and region."""
    return {placeholder: wb.names.function_arn(key) for placeholder, key in FUNCTION_PLACEHOLDERS.items()}


def render(definition: Definition, wb: Workbook, **extra: str) -> Definition:
    """A copy of the definition with every placeholder replaced (``extra`` adds or overrides values).

    Only whole string values and parts of strings are replaced; keys and structure stay as
    written. A placeholder without a value raises :class:`UnresolvedPlaceholder`.
    """
    values = {**substitutions(wb), **extra}
    missing = placeholders(definition) - set(values)
    if missing:
        raise UnresolvedPlaceholder(f"no value for {', '.join(sorted('${' + m + '}' for m in missing))}; "
                                    f"known: {', '.join(sorted(values))}")

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda match: values[match.group(1)], value)
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return fill(definition)


# --- deployment -------------------------------------------------------------------------


def ensure(wb: Workbook, definition: Definition) -> str:
    """Create the state machine, or bring its definition, role and tags up to date; returns its ARN.

    ``definition`` may still hold placeholders: it is rendered for ``wb`` first. Running it
    again with the same definition changes nothing.
    """
    sfn = wb.client("stepfunctions")
    text = json.dumps(render(definition, wb), ensure_ascii=False)
    role_arn = iam.ensure_role(wb, "state_machine")
    arn = wb.names.state_machine_arn
    try:
        current = sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return iam.retry_while_propagating(wb, lambda: sfn.create_state_machine(
            name=wb.names.state_machine, definition=text, roleArn=role_arn, type="STANDARD",
            tags=wb.names.tag_list("key", "value"),
        ))["stateMachineArn"]
    if json.loads(current["definition"]) != json.loads(text) or current["roleArn"] != role_arn:
        iam.retry_while_propagating(wb, lambda: sfn.update_state_machine(
            stateMachineArn=arn, definition=text, roleArn=role_arn))
    sfn.tag_resource(resourceArn=arn, tags=wb.names.tag_list("key", "value"))
    return arn


def deployed_definition(wb: Workbook) -> Definition:
    """The definition Step Functions holds for this prefix (rendered: real ARNs)."""
    described = wb.client("stepfunctions").describe_state_machine(stateMachineArn=wb.names.state_machine_arn)
    return json.loads(described["definition"])


# --- executions -------------------------------------------------------------------------


def pipeline_input(wb: Workbook, image_id: str, content_type: str) -> dict[str, Any]:
    """The execution input docs/pipeline.md defines: the id and where its bytes are staged."""
    return {"id": image_id, "staging": {"bucket": wb.names.bucket, "key": f"staging/{image_id}"},
            "content_type": content_type}


def stage(wb: Workbook, image_bytes: bytes, content_type: str) -> dict[str, Any]:
    """Put the bytes at ``staging/{id}`` (as the api-receiver does) and return the execution input.

    The state input is limited to 256 KiB, so the bytes travel through S3 and only their
    address goes into the execution. Staged copies that no execution picks up expire (the
    bucket's lifecycle rule).
    """
    image_id = hashlib.sha256(image_bytes).hexdigest()
    wb.client("s3").put_object(Bucket=wb.names.bucket, Key=f"staging/{image_id}", Body=image_bytes,
                               ContentType=content_type)
    return pipeline_input(wb, image_id, content_type)


def execution_arn(wb: Workbook, name: str) -> str:
    """The ARN an execution of this state machine named ``name`` has (it is derived, not random)."""
    n = wb.names
    return f"arn:{n.partition}:states:{n.region}:{n.account_id}:execution:{n.state_machine}:{name}"


def start(wb: Workbook, input: dict[str, Any], name: str | None = None) -> str:  # noqa: A002 (boto3's word)
    """Start an execution and return its ARN.

    The name defaults to ``input["id"]`` (the image id). When an execution of that name
    already exists, whether running or finished, this returns *its* ARN instead of failing:
    the same id means the same bytes, which are already on their way or done.
    """
    name = name or input.get("id")
    if not name:
        raise ValueError("give the execution a name, or an input with an 'id' (the image id) to name it after")
    sfn = wb.client("stepfunctions")
    try:
        return sfn.start_execution(stateMachineArn=wb.names.state_machine_arn, name=name,
                                   input=json.dumps(input, ensure_ascii=False))["executionArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
    return execution_arn(wb, name)


def wait(wb: Workbook, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
    """Poll until the execution has ended; returns DescribeExecution's answer.

    Raises TimeoutError if it is still running after ``timeout`` seconds.
    """
    sfn = wb.client("stepfunctions")
    deadline = time.monotonic() + timeout
    delay = 0.1 if wb.is_local else 1.0
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL:
            return described
        if time.monotonic() >= deadline:
            raise TimeoutError(f"execution {described['name']} is still {described['status']} after {timeout} s")
        time.sleep(delay)


def run(wb: Workbook, input: dict[str, Any], name: str | None = None, timeout: float = 60) -> dict[str, Any]:  # noqa: A002
    """:func:`start` then :func:`wait`: the described execution once it has ended."""
    return wait(wb, start(wb, input, name), timeout)


def output(described: dict[str, Any]) -> Any:
    """The execution's output as a value (None when it did not succeed)."""
    return json.loads(described["output"]) if described.get("output") is not None else None


def history(wb: Workbook, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, oldest first (all pages)."""
    paginator = wb.client("stepfunctions").get_paginator("get_execution_history")
    return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]


def task_result(events: list[dict[str, Any]], state: str) -> Any:
    """What a Task state's resource returned, before ResultSelector and ResultPath (its last success).

    For ``arn:aws:states:::lambda:invoke`` that is Lambda's answer with the function's own
    result inside ``Payload``. None when the state's work never succeeded.
    """
    result, current = None, None
    for event in sorted(events, key=lambda e: e["id"]):
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in ("TaskSucceeded", "LambdaFunctionSucceeded") and current == state:
            details = event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails") or {}
            result = json.loads(details["output"]) if details.get("output") is not None else None
    return result


def summary(described: dict[str, Any]) -> str:
    """One stable line: name (shortened), status, and the error when it failed."""
    name = described["name"]
    short = f"{name[:12]}…" if len(name) > 16 else name
    line = f"execution {short}: {described['status']}"
    if described.get("error"):
        line += f" ({described['error']})"
    return line
