"""A definition the local cloud refuses leaves no trace in how it parses the next one.

moto kept the QueryLanguage scopes of its parser in one list shared by every parse; a
JSONPath field inside a JSONata state (refused, as on AWS) left that state's JSONata scope
on it, and from then on every JSONPath definition and every execution was refused, until the
local cloud restarted (localcloud/stepfunctions/parser_scopes.py).
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.support import unique

ROLE_ARN = "arn:aws:iam::123456789012:role/sfn"

# A JSONPath machine with one JSONata state that still has a JSONPath field (ResultPath).
MIXED_WRONGLY = {
    "StartAt": "Mark",
    "States": {"Mark": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}",
                        "ResultPath": "$.mark", "End": True}},
}
JSONPATH = {"StartAt": "Mark", "States": {"Mark": {"Type": "Pass", "Result": True, "ResultPath": "$.mark",
                                                    "End": True}}}


def _create(sfn, definition) -> str:
    return sfn.create_state_machine(name=unique("scopes"), definition=json.dumps(definition),
                                    roleArn=ROLE_ARN)["stateMachineArn"]


def _run(sfn, machine_arn: str) -> dict:
    arn = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps({"id": "a"}))["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.1)
    return described


def test_a_refused_jsonata_state_does_not_break_later_jsonpath_definitions(client):
    sfn = client("stepfunctions")
    for _ in range(2):  # twice: each refusal used to leave one more scope behind
        with pytest.raises(ClientError) as refused:
            _create(sfn, MIXED_WRONGLY)
        assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
        assert "ResultPath" in refused.value.response["Error"]["Message"]
    machine_arn = _create(sfn, JSONPATH)
    described = _run(sfn, machine_arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"id": "a", "mark": True}


def test_each_parse_has_its_own_scopes():
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    from localcloud import hooks, stepfunctions
    from localcloud.stepfunctions import parser_scopes

    hooks.install(entry for entry in stepfunctions.HOOKS if entry.hook is parser_scopes.SCOPES)
    first, second = Preprocessor(), Preprocessor()
    first._query_language_per_scope.append("left behind")
    assert second._query_language_per_scope == []
    assert Preprocessor()._query_language_per_scope == []
