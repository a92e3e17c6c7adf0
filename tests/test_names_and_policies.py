"""Names derive from the prefix in one place; policies allow only exact resources."""

from __future__ import annotations

import json

import pytest

from helpers import policies
from helpers.names import FUNCTIONS, LAYERS, PATTERNS, TEMPLATES, Names, PrefixError, check_prefix, prefix_of

NAMES = Names(prefix="alice", account_id="123456789012", region="eu-west-1")


def test_every_name_carries_the_prefix():
    assert NAMES.bucket == "alice-images-123456789012-eu-west-1"
    assert NAMES.table == "alice-image-results"
    assert [NAMES.function(k) for k in FUNCTIONS] == [
        "alice-image-uploader", "alice-label-detector", "alice-result-store", "alice-api-receiver",
        "alice-upload-receiver"]
    assert NAMES.role("image_uploader") == "alice-image-uploader-role"
    assert NAMES.role("state_machine") == "alice-state-machine-role"
    assert NAMES.state_machine == "alice-image-pipeline"
    assert NAMES.api == "alice-image-api"
    assert NAMES.tags == {"workbook": "serverless-image-workbook", "workbook-prefix": "alice"}


def test_two_prefixes_share_no_name():
    bob = Names(prefix="bob", account_id="123456789012", region="eu-west-1")
    mine = {NAMES.bucket, NAMES.table, NAMES.state_machine, NAMES.api, *(NAMES.function(k) for k in FUNCTIONS)}
    theirs = {bob.bucket, bob.table, bob.state_machine, bob.api, *(bob.function(k) for k in FUNCTIONS)}
    assert not mine & theirs


def _every_name(names: Names) -> list[tuple[str, str]]:
    """(kind, name) of every name Names builds, one per method and key."""
    return [("REST API", names.api), ("state machine", names.state_machine), ("DynamoDB table", names.table),
            ("S3 bucket", names.bucket),
            *(("Lambda function", names.function(k)) for k in FUNCTIONS),
            *(("log group", names.log_group(k)) for k in FUNCTIONS),
            *(("IAM role", names.role(k)) for k in (*FUNCTIONS, "state_machine")),
            *(("Lambda layer", names.layer(k)) for k in LAYERS)]


def test_every_kind_named_has_a_template_and_a_pattern():
    kinds = {kind for kind, _ in _every_name(NAMES)}
    assert kinds == set(TEMPLATES) == set(PATTERNS)
    assert {kind for kind, _ in NAMES.inventory()} == kinds


# "team" is a string prefix of every name of "team-2": read whole, they are not team's.
@pytest.mark.parametrize(("mine", "theirs"), [("alice", "bob"), ("team", "team-2"), ("team-2", "team")])
def test_each_name_is_read_back_as_its_own_prefixs_and_not_as_anothers(mine, theirs):
    for kind, name in _every_name(Names(mine, "123456789012", "eu-west-1")):
        assert PATTERNS[kind].match(name), (kind, name)
        assert prefix_of(kind, name) == mine, (kind, name)
    for kind, name in _every_name(Names(theirs, "123456789012", "eu-west-1")):
        assert prefix_of(kind, name) == theirs != mine, (kind, name)


@pytest.mark.parametrize(("kind", "name", "prefix"), [
    ("REST API", "team-2-image-api", "team-2"), ("IAM role", "alice-state-machine-role", "alice"),
    ("log group", "/aws/lambda/bob-api-receiver", "bob"), ("S3 bucket", "bob-images-123456789012-eu-west-1", "bob"),
    ("Lambda function", "alice-thumbnailer", None), ("DynamoDB table", "results", None),
    ("REST API", "alice-image-api-2", None), ("S3 bucket", "bob-images-1234-eu-west-1", None),
    ("log group", "alice-image-uploader", None), ("a kind the workbook has not", "alice-image-api", None)])
def test_the_prefix_is_read_from_a_workbook_name_only(kind, name, prefix):
    assert prefix_of(kind, name) == prefix


def test_longest_prefix_still_fits_the_bucket_name_limit():
    longest = Names(prefix="a" * 20, account_id="123456789012", region="ap-southeast-4")
    assert len(longest.bucket) <= 63


@pytest.mark.parametrize("bad", ["", "ab", "Alice", "1abc", "abc-", "a--b", "a_b", "a" * 21, "ünï"])
def test_unusable_prefixes_are_refused_with_what_is_accepted(bad):
    with pytest.raises(PrefixError, match="3-20 characters, lowercase letters, digits and single hyphens"):
        check_prefix(bad)


def test_unknown_function_key_names_the_known_ones():
    with pytest.raises(KeyError, match="image_uploader, label_detector, result_store, api_receiver, upload_receiver"):
        NAMES.function("thumbnailer")


def _statements(doc):
    return {s["Sid"]: (sorted(s["Action"]), s["Resource"]) for s in doc["Statement"]}


BUCKET_ARN = "arn:aws:s3:::alice-images-123456789012-eu-west-1"


def test_image_uploader_reads_staging_and_writes_images_only():
    statements = _statements(policies.image_uploader(NAMES))
    bucket = BUCKET_ARN
    assert statements["ReadAndRemoveStagedBytes"] == (["s3:DeleteObject", "s3:GetObject"],
                                                      [f"{bucket}/staging/*", f"{bucket}/uploads/*"])
    assert statements["StoreImages"] == (["s3:PutObject"], [f"{bucket}/images/*"])
    assert statements["FindStoredImages"] == (["s3:GetObject"], [f"{bucket}/images/*"])
    assert statements["OwnLogStreams"] == (
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/alice-image-uploader:*"])


def test_api_receiver_may_stage_and_sign_uploads_but_not_read_them():
    statements = _statements(policies.api_receiver(NAMES))
    assert statements["StageUploads"] == (["s3:PutObject"], [f"{BUCKET_ARN}/staging/*"])
    # a presigned POST can do what its signer may: put under uploads/, nothing else
    assert statements["SignUploads"] == (["s3:PutObject"], [f"{BUCKET_ARN}/uploads/*"])
    assert not any("s3:GetObject" in actions for actions, _ in statements.values())


def test_upload_receiver_reads_and_removes_uploads_opens_records_and_starts_the_pipeline_only():
    statements = _statements(policies.upload_receiver(NAMES))
    assert statements == {
        "ReadAndRemoveUploads": (["s3:DeleteObject", "s3:GetObject"], [f"{BUCKET_ARN}/uploads/*"]),
        "ReadAndOpenRecords": (["dynamodb:GetItem", "dynamodb:PutItem"],
                               ["arn:aws:dynamodb:eu-west-1:123456789012:table/alice-image-results"]),
        "StartPipeline": (["states:StartExecution"],
                          ["arn:aws:states:eu-west-1:123456789012:stateMachine:alice-image-pipeline"]),
        "OwnLogStreams": (["logs:CreateLogStream", "logs:PutLogEvents"],
                          ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/alice-upload-receiver:*"]),
    }


def test_state_machine_may_invoke_only_the_pipeline_functions():
    (statement,) = policies.state_machine(NAMES)["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:lambda:eu-west-1:123456789012:function:alice-{name}{suffix}"
        for name in ("image-uploader", "label-detector", "result-store") for suffix in ("", ":*"))


@pytest.mark.parametrize("key", list(policies.FOR_ROLE))
def test_no_policy_grants_wildcard_actions_or_foreign_resources(key):
    for statement in policies.FOR_ROLE[key](NAMES)["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"])
        for resource in statement["Resource"]:
            if resource == "*":
                assert statement["Action"] == ["rekognition:DetectLabels"]  # it has no resource type
            else:
                assert "alice" in resource
    assert "FullAccess" not in json.dumps(policies.FOR_ROLE[key](NAMES))


# --- confused deputy and transport (issue 9, point 8) -----------------------------------------


def test_lambda_roles_trust_lambda_only_for_this_account():
    (statement,) = json.loads(policies.trust_policy(NAMES, "lambda"))["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
    # Lambda documents no aws:SourceArn for assuming an execution role: only the account is named.
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": NAMES.account_id}}


def test_the_state_machine_role_trusts_step_functions_only_for_this_accounts_state_machines():
    (statement,) = json.loads(policies.trust_policy(NAMES, "states"))["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": NAMES.account_id},
        "ArnLike": {"aws:SourceArn": f"arn:aws:states:{NAMES.region}:{NAMES.account_id}:stateMachine:*"},
    }
    assert NAMES.state_machine_arn.startswith(statement["Condition"]["ArnLike"]["aws:SourceArn"][:-1])


def test_the_bucket_refuses_requests_without_tls():
    (statement,) = policies.bucket_policy(NAMES)["Statement"]
    assert statement == {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [NAMES.bucket_arn, f"{NAMES.bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_roles_created_on_the_local_cloud_carry_the_conditions(localcloud):
    from helpers import iam, workbook

    wb = workbook.start("local", "us-east-1", "trust-test", port=int(localcloud.rsplit(":", 1)[1]))
    iam.ensure_role(wb, "state_machine")
    stored = wb.client("iam").get_role(RoleName=wb.names.role("state_machine"))["Role"]["AssumeRolePolicyDocument"]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": wb.account_id}
