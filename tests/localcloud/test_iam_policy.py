"""IAM's evaluation logic (issue 11, point 2): Deny over Allow, wildcards, NotAction/NotResource,
conditions, policy variables, resource-based policies with principals. Pure: no local cloud."""

from __future__ import annotations

import pytest

from localcloud.iam.policy import Request, arn_like, condition_holds, evaluate, parse

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/wb-results"
ROLE = "arn:aws:sts::123456789012:assumed-role/wb-result-store/wb-result-store"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **more):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action, resource, **more):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def decide(policies, action, resource, context=None, resource_policy=None, **principal):
    request = Request(action, resource, principal=principal.get("principal", ROLE),
                      service_principal=principal.get("service", ""), context=context or {})
    return evaluate(policies, request, resource_policy)


def test_nothing_allows_is_the_implicit_deny():
    decision = decide([], "dynamodb:UpdateItem", TABLE)
    assert (decision.allowed, decision.reason) == (False, "implicit-deny")


def test_an_allow_on_the_exact_arn_allows_and_names_its_statement():
    decision = decide([policy(allow("dynamodb:UpdateItem", TABLE, Sid="WriteResults"))], "dynamodb:UpdateItem", TABLE)
    assert (decision.allowed, decision.reason, decision.statement) == (True, "identity-allow", "WriteResults")


def test_another_action_or_resource_is_not_allowed():
    granted = [policy(allow("dynamodb:UpdateItem", TABLE))]
    assert not decide(granted, "dynamodb:PutItem", TABLE).allowed
    assert not decide(granted, "dynamodb:UpdateItem", TABLE + "-other").allowed
    assert not decide(granted, "dynamodb:UpdateItem", TABLE + "/index/status").allowed


def test_an_explicit_deny_wins_over_any_allow_in_any_policy():
    decision = decide([policy(allow("dynamodb:*", "*")), policy(deny("dynamodb:UpdateItem", TABLE))],
                      "dynamodb:UpdateItem", TABLE)
    assert (decision.allowed, decision.reason) == (False, "identity-deny")


def test_action_wildcards_are_case_insensitive_and_resource_wildcards_are_not():
    granted = [policy(allow("DynamoDB:Update*", "arn:aws:dynamodb:*:123456789012:table/wb-*"))]
    assert decide(granted, "dynamodb:UpdateItem", TABLE).allowed
    assert not decide(granted, "dynamodb:UpdateItem", TABLE.replace("wb-", "WB-")).allowed
    assert decide([policy(allow("s3:Get?bject", "arn:aws:s3:::b/images/*"))], "s3:GetObject",
                  "arn:aws:s3:::b/images/x/y.png").allowed


def test_a_star_in_the_resource_part_spans_colons_but_not_other_components():
    stream = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/wb-f:log-stream:2026/12/05/[$LATEST]ab"
    assert arn_like("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/wb-f:*", stream)
    assert not arn_like("arn:aws:logs:*-1:123456789012:log-group:/aws/lambda/other:*", stream)
    assert not arn_like("arn:aws:s3:::b*", "arn:aws:s3:eu-west-1::b")  # the region component differs


def test_not_action_allows_everything_else():
    granted = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert decide(granted, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert not decide(granted, "iam:PassRole", "arn:aws:iam::123456789012:role/x").allowed


def test_not_resource_in_a_deny_protects_all_but_the_named_resources():
    policies = [policy(allow("s3:*", "*"), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mine/*"})]
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::mine/k").allowed
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::theirs/k").reason == "identity-deny"


def test_an_action_without_a_resource_type_needs_resource_star():
    assert decide([policy(allow("rekognition:DetectLabels", "*"))], "rekognition:DetectLabels", "*").allowed
    assert not decide([policy(allow("rekognition:DetectLabels", TABLE))], "rekognition:DetectLabels", "*").allowed


@pytest.mark.parametrize("operator, key, expected, context, holds", [
    ("StringEquals", "aws:SourceAccount", "123456789012", {"aws:SourceAccount": "123456789012"}, True),
    ("StringEquals", "aws:SourceAccount", "123456789012", {"aws:sourceaccount": "210987654321"}, False),
    ("StringEquals", "aws:SourceAccount", "123456789012", {}, False),  # a plain operator needs its key
    ("StringNotEquals", "aws:SourceAccount", "123456789012", {}, True),  # a negated one holds without it
    ("StringEqualsIfExists", "aws:SourceAccount", "1", {}, True),
    ("StringLike", "s3:prefix", ["images/*", "uploads/*"], {"s3:prefix": "uploads/a"}, True),
    ("StringNotLike", "s3:prefix", "images/*", {"s3:prefix": "images/a"}, False),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "Red", {"aws:PrincipalTag/team": "RED"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:execute-api:us-east-1:1:abc/*/POST/images",
     {"aws:SourceArn": "arn:aws:execute-api:us-east-1:1:abc/v1/POST/images"}, True),
    ("ArnLike", "aws:SourceArn", "arn:aws:execute-api:us-east-1:1:abc/*/POST/images",
     {"aws:SourceArn": "arn:aws:execute-api:us-east-1:1:abc/v1/GET/images"}, False),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::a", {"aws:SourceArn": "arn:aws:s3:::b"}, True),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}, False),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "false"}, True),
    ("Null", "aws:TagKeys", "true", {}, True),
    ("Null", "aws:TagKeys", "false", {}, False),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "7"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "7"}, False),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["owner"], {"aws:TagKeys": ["owner", "x"]}, True),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["owner"], {"aws:TagKeys": ["owner", "x"]}, False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["owner"], {}, True),
])
def test_condition_operators(operator, key, expected, context, holds):
    assert condition_holds(operator, key, expected, context) is holds


def test_policy_variables_come_from_the_context_and_a_missing_one_does_not_match():
    granted = [policy(allow("s3:PutObject", "arn:aws:s3:::class/${aws:username}/*"))]
    assert decide(granted, "s3:PutObject", "arn:aws:s3:::class/ana/x", {"aws:username": "ana"}).allowed
    assert not decide(granted, "s3:PutObject", "arn:aws:s3:::class/ana/x", {"aws:username": "bo"}).allowed
    assert not decide(granted, "s3:PutObject", "arn:aws:s3:::class/ana/x", {}).allowed
    defaulted = [policy(allow("s3:PutObject", "arn:aws:s3:::class/${aws:username, 'shared'}/*"))]
    assert decide(defaulted, "s3:PutObject", "arn:aws:s3:::class/shared/x").allowed


def test_an_unsupported_operator_makes_its_statement_count_as_not_matching_and_is_reported():
    granted = [policy(allow("s3:GetObject", "*", Sid="FromTheOffice",
                            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))]
    decision = decide(granted, "s3:GetObject", "arn:aws:s3:::b/k")
    assert not decision.allowed
    assert decision.unsupported == ("FromTheOffice: IpAddress",)


def test_a_resource_policy_allows_a_service_principal_only_from_its_source_arn():
    function = "arn:aws:lambda:us-east-1:123456789012:function:wb-api-receiver"
    statement = {"Sid": "wb-api-post-images", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                 "Action": "lambda:InvokeFunction", "Resource": function,
                 "Condition": {"ArnLike": {
                     "AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc/*/POST/images"}}}
    source = "arn:aws:execute-api:us-east-1:123456789012:abc/v1/POST/images"
    allowed = decide([], "lambda:InvokeFunction", function, {"aws:SourceArn": source}, policy(statement),
                     principal="", service="apigateway.amazonaws.com")
    assert (allowed.allowed, allowed.reason) == (True, "resource-allow")
    elsewhere = decide([], "lambda:InvokeFunction", function, {"aws:SourceArn": source.replace("POST", "GET")},
                       policy(statement), principal="", service="apigateway.amazonaws.com")
    assert not elsewhere.allowed
    other_service = decide([], "lambda:InvokeFunction", function, {"aws:SourceArn": source}, policy(statement),
                           principal="", service="s3.amazonaws.com")
    assert not other_service.allowed


def test_a_bucket_policy_deny_for_everyone_wins_over_the_role_allow():
    bucket_policy = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    granted = [policy(allow("s3:GetObject", "arn:aws:s3:::b/*"))]
    insecure = decide(granted, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"}, bucket_policy)
    assert insecure.reason == "resource-deny"
    assert decide(granted, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "true"}, bucket_policy).allowed


def test_a_resource_policy_naming_the_role_allows_without_an_identity_policy():
    role_arn = "arn:aws:iam::123456789012:role/wb-result-store"
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::b/*"})
    assert decide([], "s3:GetObject", "arn:aws:s3:::b/k", resource_policy=bucket_policy).reason == "resource-allow"


def test_moto_keeps_documents_as_text_sometimes_url_quoted():
    assert parse('{"Statement": []}') == {"Statement": []}
    assert parse("%7B%22Statement%22%3A%20%5B%5D%7D") == {"Statement": []}
