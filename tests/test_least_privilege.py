"""Least privilege, proved offline (issue 11, point 5): the workbook's own policies suffice, and
every statement of every role is needed.

Notebooks 00-05 and 07 deploy the pipeline of prefix ``least-privilege`` into the test
session's local cloud, which enforces IAM. With every policy in place an image goes through.
Then, for each statement of each function's role and of the state machine's, the statement is
removed, the part of the pipeline that needs it is run, and the local cloud must have refused
one of that statement's actions to that role (its denial log, as CloudTrail would show it),
with the failure visible where AWS shows it: a FAILED record whose error names the action, a
FAILED execution, an HTTP error, a refused upload, or (for log statements, as on AWS) a
function that still runs while its logs are lost. The policy is put back after each case.
"""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest
import requests
from PIL import Image

from helpers import api, lambdas, pipeline_client, policies, statemachine, uploads, workspace
from helpers.iam import POLICY_NAME
from helpers.names import Names
from localcloud import iam as iam_admin
from tests.conftest import deploy_pipeline

PREFIX = "least-privilege"
TIMEOUT = 60


@pytest.fixture(scope="module")
def wb(localcloud, tmp_path_factory):
    iam_admin.set_mode(localcloud, "enforce")
    return deploy_pipeline(localcloud, PREFIX, ["00", "01", "02", "03", "04", "05", "07"],
                           tmp_path_factory.mktemp("least-privilege-notebooks"))


@pytest.fixture(scope="module")
def url(wb):
    return api.url_of(wb)


def photo() -> bytes:
    """A photo no earlier case sent (the pipeline is idempotent per image)."""
    seed = uuid.uuid4().int % 200
    with Image.open(workspace.DATA_DIR / "astronaut.png") as source:
        crop = source.convert("RGB").crop((seed, seed, seed + 160, seed + 120))
    out = io.BytesIO()
    # Unique bytes whatever the crop: JPEG's quantization can erase a one-pixel change, and two
    # cases sending the same image got the first one's record back (a flaky "changed nothing").
    crop.save(out, "JPEG", quality=95, comment=uuid.uuid4().hex.encode())
    return out.getvalue()


def post(url: str) -> requests.Response:
    return requests.post(f"{url}/images", data=photo(), headers={"Content-Type": "image/jpeg"}, timeout=60)


def execution_end(wb, image_id: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = api.executions_named(wb, image_id)
        if found and found[0]["status"] != "RUNNING":
            return wb.client("stepfunctions").describe_execution(executionArn=found[0]["executionArn"])
        time.sleep(0.2)
    raise TimeoutError(f"the execution of {image_id} did not end within {TIMEOUT} s")


def record(wb, image_id: str) -> dict:
    item = wb.client("dynamodb").get_item(TableName=wb.names.table, Key={"id": {"S": image_id}},
                                          ConsistentRead=True).get("Item") or {}
    return item


def denials_of(endpoint: str, role_name: str, actions: set[str], timeout: float = 20) -> list[dict]:
    """The denials of ``actions`` to sessions of ``role_name`` (waiting for asynchronous work)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in iam_admin.denials(endpoint)
                 if f":assumed-role/{role_name}/" in d["principal"] and d["action"] in actions]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# --- the scenarios: each exercises one role's statements, and says how it failed --------------


def through_the_api(wb, url) -> str:
    """POST an image; the visible failure: an HTTP error, or the execution's end (and record)."""
    answer = post(url)
    if answer.status_code != 202:
        return f"POST /images answered {answer.status_code}: {answer.text}"
    image_id = answer.json()["id"]
    ended = execution_end(wb, image_id)
    found = record(wb, image_id)
    return (f"execution {ended['status']} ({ended.get('error')}: {ended.get('cause', '')[:600]}); "
            f"record {found.get('status', {}).get('S')}: {json.dumps(found.get('error', {}))}")


def through_s3(wb, url) -> str:
    """An upload straight to S3 (07): grant, presigned POST, the upload-receiver."""
    data = photo()
    sent = uploads.send(url, data, "image/jpeg", filename="photo.jpg")
    if not sent.ok:
        return f"upload refused: grant {sent.grant_status}, S3 {sent.s3_status}: {sent.s3_answer[:300]}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not api.executions_named(wb, sent.id):
        time.sleep(0.2)
    return f"executions of the upload: {len(api.executions_named(wb, sent.id))}; left: {uploads.left(wb)}"


def a_retried_upload(wb, url) -> str:
    """The state machine's retry of StoreImage after an attempt that stored the image."""
    event = statemachine.stage(wb, photo(), "image/jpeg")
    first = lambdas.invoke(wb, "image_uploader", event)
    try:
        second = lambdas.invoke(wb, "image_uploader", event)
    except lambdas.FunctionFailed as failed:
        second = str(failed)
    return f"first: {json.dumps(first)[:200]}; retry: {str(second)[:300]}"


SCENARIOS = {"api_receiver": through_the_api, "image_uploader": through_the_api, "label_detector": through_the_api,
             "result_store": through_the_api, "state_machine": through_the_api, "upload_receiver": through_s3}
SPECIAL = {("image_uploader", "FindStoredImages"): a_retried_upload, ("api_receiver", "SignUploads"): through_s3}

CASES = [(key, statement["Sid"]) for key, make in sorted(policies.FOR_ROLE.items())
         for statement in make(Names(PREFIX, "123456789012", "us-east-1"))["Statement"]]


def test_the_whole_pipeline_passes_with_its_least_privilege_policies(wb, url, localcloud):
    iam_admin.clear_denials(localcloud)
    outcome = through_the_api(wb, url)
    assert outcome.startswith("execution SUCCEEDED") and "record SUCCEEDED" in outcome, outcome
    assert "executions of the upload: 1" in through_s3(wb, url)
    assert iam_admin.denials(localcloud) == []


@pytest.mark.parametrize("key, sid", CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_each_statement_is_needed(wb, url, localcloud, key, sid):
    client = wb.client("iam")
    role_name = wb.names.role_arn(key).rsplit("/", 1)[1]
    full = policies.FOR_ROLE[key](wb.names)
    statement = next(s for s in full["Statement"] if s["Sid"] == sid)
    actions = set(statement["Action"])
    without = dict(full, Statement=[s for s in full["Statement"] if s["Sid"] != sid])
    if without["Statement"]:
        client.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(without))
    else:  # its only statement: IAM refuses an empty policy, so the inline policy goes
        client.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    iam_admin.clear_denials(localcloud)
    try:
        outcome = SPECIAL.get((key, sid), SCENARIOS[key])(wb, url)
        denied = denials_of(localcloud, role_name, actions)
    finally:
        client.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(full))
    assert denied, f"removing {key}'s {sid} changed nothing: {outcome}"
    action = denied[0]["action"]
    assert action in denied[0]["message"]
    if sid == "OwnLogStreams":  # as on AWS: the function runs, its output is lost
        assert "SUCCEEDED" in outcome or "executions of the upload: 1" in outcome, outcome
    elif key == "upload_receiver":
        assert "executions of the upload: 0" in outcome, outcome
    elif (key, sid) == ("api_receiver", "SignUploads"):
        assert "upload refused" in outcome and "AccessDenied" in outcome, outcome
    elif (key, sid) == ("image_uploader", "FindStoredImages"):
        assert "StagedImageMissing" in outcome.split("retry:")[1], outcome
    elif key == "api_receiver":
        assert outcome.startswith("POST /images answered 5"), outcome
    else:
        assert outcome.startswith("execution FAILED"), outcome
        # Where the error is AccessDenied itself, it names the action; a staged copy that cannot be read
        # is StagedImageMissing, and Rekognition's refused read is InvalidS3ObjectException (as on AWS).
        if (key, sid) not in (("image_uploader", "ReadAndRemoveStagedBytes"), ("label_detector", "ReadStoredImages")):
            assert action in outcome, f"the record's error should name {action}: {outcome}"



def test_without_its_inline_policy_a_function_fails_the_next_image_with_an_error_naming_the_action(wb, url):
    client = wb.client("iam")
    role_name = wb.names.role_arn("label_detector").rsplit("/", 1)[1]
    full = policies.FOR_ROLE["label_detector"](wb.names)
    client.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    try:
        answer = post(url)
        assert answer.status_code == 202, answer.text
        found = pipeline_client.wait_for(url, answer.json()["id"], TIMEOUT)
    finally:
        client.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(full))
    assert found["status"] == "FAILED"
    assert "is not authorized to perform: rekognition:DetectLabels" in json.dumps(found["error"]), found["error"]
