"""What Step Functions keeps between tasks and executions (no server): SDK clients, role
credentials, parsed JSONPaths and definitions, reused while valid and renewed when not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.auth.credentials import Credentials
from localcloud.stepfunctions import definitions, json_paths
from localcloud.stepfunctions.clients import Clients
from localcloud.stepfunctions.service_calls import INSTANCE, RoleSessions, signing_as_the_role

ENDPOINT = "http://127.0.0.1:4566"
ROLE = "arn:aws:iam::123456789012:role/pipeline"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """A stand-in for the instance's STS: numbered credentials, and who asked for them."""

    def __init__(self) -> None:
        self.issued: list[tuple[str, str, int]] = []

    def __call__(self, role_arn: str, session_name: str, region: str, duration_s: int) -> Credentials:
        self.issued.append((role_arn, session_name, duration_s))
        n = len(self.issued)
        return Credentials(f"ASIA{n}", f"secret{n}", f"token{n}")


def signing_key(client: Any) -> str:
    return client._get_credentials().access_key


def test_a_client_is_reused_for_the_same_region_service_and_credentials():
    clients = Clients(ENDPOINT, 60)
    key = Credentials("AKIA1", "s1")
    first = clients.get("us-east-1", "lambda", INSTANCE, key)

    assert clients.get("us-east-1", "lambda", INSTANCE, Credentials("AKIA1", "s1")) is first
    assert first.meta.endpoint_url == ENDPOINT
    assert signing_key(first) == "AKIA1"
    others = [clients.get("eu-west-1", "lambda", INSTANCE, key), clients.get("us-east-1", "sqs", INSTANCE, key),
              clients.get("us-east-1", "lambda", ROLE, key)]
    assert len({id(first), *map(id, others)}) == 4


def test_renewed_credentials_get_a_new_client_that_signs_with_them():
    clients = Clients(ENDPOINT, 60)
    old = clients.get("us-east-1", "lambda", ROLE, Credentials("ASIA1", "s1", "t1"))
    new = clients.get("us-east-1", "lambda", ROLE, Credentials("ASIA2", "s2", "t2"))

    assert new is not old
    assert (signing_key(new), new._get_credentials().token) == ("ASIA2", "t2")
    assert clients.get("us-east-1", "lambda", ROLE, Credentials("ASIA2", "s2", "t2")) is new


def test_role_credentials_last_until_five_minutes_before_their_hour_ends():
    clock, issuer = Clock(), Issuer()
    roles = RoleSessions(issuer, clock)
    first = roles.credentials(ROLE, "us-east-1")

    clock.now += RoleSessions.DURATION_S - RoleSessions.RENEW_BEFORE_S - 1
    assert roles.credentials(ROLE, "us-east-1") is first
    clock.now += 2
    renewed = roles.credentials(ROLE, "us-east-1")

    assert renewed != first
    assert [(arn, seconds) for arn, _, seconds in issuer.issued] == [(ROLE, 3600), (ROLE, 3600)]
    assert all(name.startswith("StepFunctions-") for _, name, _ in issuer.issued)


def test_each_role_signs_its_own_calls_and_renewal_replaces_the_client():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    clock, issuer = Clock(), Issuer()
    boto_client_for = signing_as_the_role(Clients(ENDPOINT, 60), RoleSessions(issuer, clock), Credentials("AKIA0", "s"))
    as_role = boto_client_for("us-east-1", "lambda", StateCredentials(role_arn=ROLE))

    assert boto_client_for("us-east-1", "lambda", StateCredentials(role_arn=ROLE)) is as_role
    assert signing_key(as_role) == "ASIA1"
    assert signing_key(boto_client_for("us-east-1", "lambda", StateCredentials(role_arn=OTHER_ROLE))) == "ASIA2"
    assert signing_key(boto_client_for("us-east-1", "lambda")) == "AKIA0"  # no role: the instance's key
    clock.now += RoleSessions.DURATION_S
    renewed = boto_client_for("us-east-1", "lambda", StateCredentials(role_arn=ROLE))
    assert renewed is not as_role and signing_key(renewed) == "ASIA3"


def test_a_jsonpath_is_parsed_once_and_a_bad_one_still_raises():
    from jsonpath_ng.exceptions import JsonPathParserError
    from jsonpath_ng.ext import parse

    calls: list[str] = []

    def counted(path: str) -> Any:
        calls.append(path)
        return parse(path)

    parsed_once = json_paths._parsed_once(counted)
    assert parsed_once("$.a.b") is parsed_once("$.a.b")
    assert [match.value for match in parsed_once("$.a.b").find({"a": {"b": 1}})] == [1]
    for _ in range(2):
        with pytest.raises(JsonPathParserError):
            parsed_once("$..[")
    assert calls == ["$.a.b", "$..[", "$..["]


def test_a_definition_is_read_once_and_every_execution_gets_its_own_components():
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    original = getattr(AmazonStateLanguageParser.parse, "__localcloud_original__", AmazonStateLanguageParser.parse)
    parse = definitions._tree_read_once(original)
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}]}}})

    first_program, first_tree = parse(definition)
    second_program, second_tree = parse(definition)
    assert second_tree is first_tree
    assert second_program is not first_program  # a Parallel state counts its live branches per run
    for _ in range(2):
        with pytest.raises(ASLParserException):
            parse('{"StartAt": ')
