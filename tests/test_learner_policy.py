"""The learner policy for a shared AWS account (docs/instructor/): each learner may create and delete only
what the workbook names with their own prefix, and pass only their own roles (issue 10, point 5).

The policies are evaluated with localcloud/iam/policy.py (IAM's logic, with policy
variables and the condition operators they use, the evaluator the local cloud enforces with),
not on AWS; the request contexts below are what IAM would put in them (the user name, the
request's and the resource's tags, the role's permissions boundary, the service a role is
passed to).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import iam, policies, workbook
from helpers.names import FUNCTIONS, Names
from localcloud.iam.policy import allowed
from tests.conftest import REGION

ACCOUNT = "123456789012"
FOLDER = Path(__file__).resolve().parents[1] / "docs" / "instructor"
POLICY = json.loads((FOLDER / "learner-policy.json").read_text())
BOUNDARY = json.loads((FOLDER / "learner-boundary.json").read_text())
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/workbook-learner-boundary"
API = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted


def user(name: str, **context: str) -> dict[str, str]:
    return {"aws:username": name, **context}


def role_request(names: Names) -> dict[str, str]:
    """What creating one of the workbook's roles carries: its tags and the boundary."""
    return {"aws:RequestTag/workbook-prefix": names.prefix, "iam:PermissionsBoundary": BOUNDARY_ARN}


def layer_arn(names: Names) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{names.layer('pillow')}"


def creating_and_deleting(names: Names) -> list[tuple[str, str, dict[str, str]]]:
    """(action, resource, request context) to create and to delete everything the inventory lists."""
    n = names
    requests = [("s3:CreateBucket", n.bucket_arn, {}), ("s3:DeleteBucket", n.bucket_arn, {}),
                ("dynamodb:CreateTable", n.table_arn, {}), ("dynamodb:DeleteTable", n.table_arn, {}),
                ("states:CreateStateMachine", n.state_machine_arn, {}),
                ("states:DeleteStateMachine", n.state_machine_arn, {}),
                ("lambda:PublishLayerVersion", layer_arn(n), {}),
                ("lambda:DeleteLayerVersion", f"{layer_arn(n)}:1", {}),
                ("apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis",
                 {"aws:RequestTag/workbook-prefix": n.prefix}),
                ("apigateway:DELETE", API, {"aws:ResourceTag/workbook-prefix": n.prefix})]
    for key in FUNCTIONS:
        requests += [("lambda:CreateFunction", n.function_arn(key), {}),
                     ("lambda:DeleteFunction", n.function_arn(key), {}),
                     ("logs:CreateLogGroup", n.log_group_arn(key), {}),
                     ("logs:DeleteLogGroup", n.log_group_arn(key), {})]
    for key in (*FUNCTIONS, "state_machine"):
        requests += [("iam:CreateRole", n.role_arn(key), role_request(n)),
                     ("iam:TagRole", n.role_arn(key), role_request(n)),
                     ("iam:DeleteRole", n.role_arn(key), {})]
    return requests


def test_the_policies_are_valid_documents_within_the_managed_policy_size():
    for document in (POLICY, BOUNDARY):
        assert document["Version"] == "2012-10-17"
        assert all(statement["Effect"] in ("Allow", "Deny") and statement["Sid"] for statement in document["Statement"])
    for name in ("learner-policy.json", "learner-boundary.json"):
        size = len("".join((FOLDER / name).read_text().split()))
        assert size <= MANAGED_POLICY_LIMIT, f"{name}: {size} characters, over IAM's {MANAGED_POLICY_LIMIT}"


def test_the_requests_cover_every_kind_of_the_inventory():
    kinds = {kind for kind, _ in Names("alice", ACCOUNT, REGION).inventory()}
    assert kinds == {"S3 bucket", "IAM role", "Lambda function", "log group", "Lambda layer", "DynamoDB table",
                     "state machine", "REST API"}


def test_alice_may_create_and_delete_everything_named_with_her_prefix():
    requests = creating_and_deleting(Names("alice", ACCOUNT, REGION))
    refused = [(action, resource) for action, resource, context in requests
               if not allowed(POLICY, action, resource, user("alice", **context))]
    assert refused == []


@pytest.mark.parametrize("other", ["bob", "alice-2", "ali"])
def test_alice_may_not_create_or_delete_another_learners(other):
    # "alice-2" and "ali": names that start like hers, or that hers start like.
    requests = creating_and_deleting(Names(other, ACCOUNT, REGION))
    permitted = [(action, resource) for action, resource, context in requests
                 if allowed(POLICY, action, resource, user("alice", **context))]
    assert permitted == []


def test_alice_may_not_touch_bobs_resources_in_any_way():
    bob = Names("bob", ACCOUNT, REGION)
    for action, resource in [("s3:GetObject", f"{bob.bucket_arn}/images/a.png"), ("s3:PutBucketPolicy", bob.bucket_arn),
                             ("lambda:InvokeFunction", bob.function_arn("api_receiver")),
                             ("lambda:UpdateFunctionCode", bob.function_arn("image_uploader")),
                             ("dynamodb:Scan", bob.table_arn), ("states:StartExecution", bob.state_machine_arn),
                             ("logs:FilterLogEvents", f"{bob.log_group_arn('result_store')}:*"),
                             ("iam:PutRolePolicy", bob.role_arn("image_uploader"))]:
        assert not allowed(POLICY, action, resource, user("alice", **{"iam:PermissionsBoundary": BOUNDARY_ARN})), action


def test_the_calls_the_notebooks_make_on_her_own_resources_are_allowed():
    n = Names("alice", ACCOUNT, REGION)
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{n.state_machine}:0f3a"
    tagged = {"aws:ResourceTag/workbook-prefix": "alice"}
    calls = [
        ("sts:GetCallerIdentity", "*", {}), ("rekognition:DetectLabels", "*", {}), ("tag:GetResources", "*", {}),
        ("s3:ListAllMyBuckets", "*", {}), ("lambda:ListFunctions", "*", {}), ("iam:ListRoles", "*", {}),
        ("dynamodb:ListTables", "*", {}), ("states:ListStateMachines", "*", {}), ("logs:DescribeLogGroups", "*", {}),
        ("apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis", {}),
        ("s3:PutEncryptionConfiguration", n.bucket_arn, {}), ("s3:PutBucketPublicAccessBlock", n.bucket_arn, {}),
        ("s3:PutBucketNotification", n.bucket_arn, {}), ("s3:PutBucketPolicy", n.bucket_arn, {}),
        ("s3:ListBucketVersions", n.bucket_arn, {}), ("s3:PutObject", f"{n.bucket_arn}/staging/x", {}),
        ("s3:DeleteObjectVersion", f"{n.bucket_arn}/images/x.png", {}),
        ("lambda:AddPermission", n.function_arn("api_receiver"), {}),
        ("lambda:PutFunctionConcurrency", n.function_arn("label_detector"), {}),
        ("lambda:GetLayerVersion", f"{layer_arn(n)}:3", {}), ("lambda:ListLayerVersions", "*", {}),
        ("logs:PutRetentionPolicy", n.log_group_arn("image_uploader"), {}),
        ("logs:FilterLogEvents", f"{n.log_group_arn('image_uploader')}:*", {}),
        ("dynamodb:BatchGetItem", n.table_arn, {}), ("dynamodb:Query", n.table_arn, {}),
        ("states:StartExecution", n.state_machine_arn, {}), ("states:UpdateStateMachine", n.state_machine_arn, {}),
        ("states:DescribeExecution", execution, {}), ("states:GetExecutionHistory", execution, {}),
        ("states:StopExecution", execution, {}),
        ("iam:PutRolePolicy", n.role_arn("result_store"), {"iam:PermissionsBoundary": BOUNDARY_ARN}),
        ("iam:GetRolePolicy", n.role_arn("result_store"), {}),
        ("apigateway:PATCH", f"{API}/stages/v1", tagged), ("apigateway:PUT", f"{API}/methods/POST", tagged),
        ("apigateway:GET", f"{API}/gatewayresponses/DEFAULT_4XX", tagged),
    ]
    refused = [(a, r) for a, r, context in calls if not allowed(POLICY, a, r, user("alice", **context))]
    assert refused == []


def test_roles_are_created_only_tagged_with_her_prefix_and_with_the_boundary():
    role = Names("alice", ACCOUNT, REGION).role_arn("label_detector")
    other_boundary = f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"
    for context in [{"aws:RequestTag/workbook-prefix": "alice"},  # no boundary
                    {"aws:RequestTag/workbook-prefix": "alice", "iam:PermissionsBoundary": other_boundary},
                    {"aws:RequestTag/workbook-prefix": "bob", "iam:PermissionsBoundary": BOUNDARY_ARN},
                    {"iam:PermissionsBoundary": BOUNDARY_ARN}]:  # untagged
        assert not allowed(POLICY, "iam:CreateRole", role, user("alice", **context)), context
    # A role without the boundary (made before it was required) cannot be given a policy.
    assert not allowed(POLICY, "iam:PutRolePolicy", role, user("alice"))
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy",
                   "iam:CreatePolicy", "iam:CreateUser", "iam:CreateAccessKey", "iam:UntagRole"):
        assert not allowed(POLICY, action, role, user("alice", **{"iam:PermissionsBoundary": BOUNDARY_ARN})), action


@pytest.mark.parametrize("key", [*FUNCTIONS, "state_machine"])
def test_she_may_pass_her_own_roles_to_lambda_and_step_functions_only(key):
    alice, bob = Names("alice", ACCOUNT, REGION), Names("bob", ACCOUNT, REGION)
    for service in ("lambda.amazonaws.com", "states.amazonaws.com"):
        assert allowed(POLICY, "iam:PassRole", alice.role_arn(key), user("alice", **{"iam:PassedToService": service}))
        assert not allowed(POLICY, "iam:PassRole", bob.role_arn(key), user("alice", **{"iam:PassedToService": service}))
    assert not allowed(POLICY, "iam:PassRole", alice.role_arn(key),
                       user("alice", **{"iam:PassedToService": "ec2.amazonaws.com"}))


def test_rest_apis_go_by_their_tag():
    create = "arn:aws:apigateway:us-east-1::/restapis"
    assert allowed(POLICY, "apigateway:POST", create, user("alice", **{"aws:RequestTag/workbook-prefix": "alice"}))
    assert not allowed(POLICY, "apigateway:POST", create, user("alice", **{"aws:RequestTag/workbook-prefix": "bob"}))
    assert not allowed(POLICY, "apigateway:POST", create, user("alice"))  # untagged
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        action = f"apigateway:{method}"
        assert allowed(POLICY, action, API, user("alice", **{"aws:ResourceTag/workbook-prefix": "alice"}))
        assert not allowed(POLICY, action, API, user("alice", **{"aws:ResourceTag/workbook-prefix": "bob"}))
        assert not allowed(POLICY, action, API, user("alice"))
    # Nor may she tag bob's API as hers to take it over.
    tags = f"arn:aws:apigateway:us-east-1::/tags/{API.replace(':', '%3A').replace('/', '%2F')}"
    assert not allowed(POLICY, "apigateway:PUT", tags, user("alice", **{"aws:RequestTag/workbook-prefix": "alice",
                                                                        "aws:ResourceTag/workbook-prefix": "bob"}))
    assert allowed(POLICY, "apigateway:PUT", tags, user("alice", **{"aws:RequestTag/workbook-prefix": "alice"}))


@pytest.mark.parametrize("key", sorted(policies.FOR_ROLE))
def test_the_boundary_allows_what_each_role_needs_for_its_own_prefix_only(key):
    alice, bob = Names("alice", ACCOUNT, REGION), Names("bob", ACCOUNT, REGION)
    for statement in policies.FOR_ROLE[key](alice)["Statement"]:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                mine = allowed(BOUNDARY, action, resource, {"aws:PrincipalTag/workbook-prefix": "alice"})
                assert mine, f"{key}: the boundary refuses {action} on {resource}"
                if resource != "*":  # DetectLabels names no resource
                    theirs = allowed(BOUNDARY, action, resource, {"aws:PrincipalTag/workbook-prefix": "bob"})
                    assert not theirs, f"{key}: bob's role could {action} on {resource}"
    for statement in policies.FOR_ROLE[key](bob)["Statement"]:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                if resource != "*":
                    assert not allowed(BOUNDARY, action, resource, {"aws:PrincipalTag/workbook-prefix": "alice"})


def test_the_boundary_leaves_room_for_the_exercises_on_her_own_resources():
    n, tag = Names("alice", ACCOUNT, REGION), {"aws:PrincipalTag/workbook-prefix": "alice"}
    # 5.1 gives the api-receiver dynamodb:Scan (GET /images); 3.2 queries a status index.
    for action, resource in [("dynamodb:Scan", n.table_arn), ("dynamodb:Query", f"{n.table_arn}/index/status"),
                             ("s3:PutObject", f"{n.bucket_arn}/thumbnails/a.png"),
                             ("lambda:InvokeFunction", n.function_arn("api_receiver"))]:
        assert allowed(BOUNDARY, action, resource, tag), action
        assert not allowed(BOUNDARY, action, resource.replace("alice", "bob"), tag), action


def test_the_boundary_refuses_everything_else():
    tag = {"aws:PrincipalTag/workbook-prefix": "alice"}
    receiver = Names("alice", ACCOUNT, REGION).function_arn("api_receiver")
    for action, resource in [("iam:CreateUser", "*"), ("iam:PassRole", "*"), ("ec2:RunInstances", "*"),
                             ("lambda:UpdateFunctionCode", receiver),
                             ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/a.png")]:
        assert not allowed(BOUNDARY, action, resource, tag), action
    assert allowed(BOUNDARY, "rekognition:DetectLabels", "*", {})  # it names no resource: any role may


def test_the_boundary_is_read_from_the_environment_as_a_name_or_an_arn(monkeypatch):
    wb = workbook.Workbook(target=None, names=Names("alice", ACCOUNT, "eu-west-1"))
    monkeypatch.delenv(iam.BOUNDARY_VARIABLE, raising=False)
    assert iam.permissions_boundary(wb) is None
    monkeypatch.setenv(iam.BOUNDARY_VARIABLE, "workbook-learner-boundary")
    assert iam.permissions_boundary(wb) == BOUNDARY_ARN
    monkeypatch.setenv(iam.BOUNDARY_VARIABLE, "arn:aws:iam::999999999999:policy/other")
    assert iam.permissions_boundary(wb) == "arn:aws:iam::999999999999:policy/other"


def test_a_new_role_carries_the_boundary_when_the_instructor_set_one(localcloud, monkeypatch):
    wb = workbook.start("local", REGION, "boundary-a", port=int(localcloud.rsplit(":", 1)[1]))
    monkeypatch.setenv(iam.BOUNDARY_VARIABLE, "workbook-learner-boundary")
    try:
        iam.ensure_role(wb, "result_store")
        role = wb.client("iam").get_role(RoleName=wb.names.role("result_store"))["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY_ARN
    finally:
        iam.delete_role(wb, "result_store")


def test_cleanup_passes_over_a_resource_whose_tags_the_learner_may_not_read():
    from botocore.exceptions import ClientError

    from helpers import cleanup

    def denied():
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not yours"}}, "ListTags")

    # "alice-2-experiment" starts with "alice-" but is no workbook name: its tag decides, and alice may not read it.
    assert cleanup._is_ours("Lambda function", "alice-2-experiment", "alice", denied) is False
    assert cleanup._is_ours("Lambda function", "alice-experiment", "alice", lambda: None) is True


def test_the_instructors_guide_shows_both_policies_as_they_are():
    guide = (FOLDER.parent / "instructor.md").read_text()
    for name in ("learner-policy.json", "learner-boundary.json"):
        shown = guide.split(f"docs/instructor/{name}, in full</summary>\n\n```json\n", 1)[1].split("```", 1)[0]
        assert json.loads(shown) == json.loads((FOLDER / name).read_text()), f"docs/instructor.md shows an old {name}"
