"""helpers.limits: stage throttling and reserved concurrency, and what a client sees beyond them.

On the local target the workbook applies neither by default (helpers/limits.py says why);
these tests set them explicitly, and the local cloud enforces both as AWS does.
"""

from __future__ import annotations

import types
import warnings

import pytest
import requests
from botocore.exceptions import ClientError

from helpers import api, lambdas, limits, workbook
from localcloud.apigateway.throttling import Limits, Throttle
from tests.localcloud.lambdas import PROXY_OK


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "limits-test", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def receiver(wb, tmp_path_factory):
    source = tmp_path_factory.mktemp("limits") / "api_receiver.py"
    source.write_text(PROXY_OK)
    return lambdas.deploy(wb, "api_receiver", source=source).arn


def test_the_workbook_sets_its_limits_on_aws_only(wb):
    assert not limits.applies(wb)
    assert limits.applies(types.SimpleNamespace(is_local=False))
    # 27 reserved per learner: an account with 1,000 keeps its 100 unreserved for 33 learners
    assert sum(limits.RESERVED_CONCURRENCY.values()) == 27
    assert set(limits.RESERVED_CONCURRENCY) == {"api_receiver", "upload_receiver", "image_uploader",
                                                "label_detector", "result_store"}


def test_a_throttled_stage_answers_429_too_many_requests_without_invoking_the_function(wb, receiver):
    built = api.ensure(wb, receiver)
    assert limits.stage_throttling(wb, built.id) == {}  # local: none by default
    assert limits.throttle_stage(wb, built.id, {"rateLimit": 0.2, "burstLimit": 3})
    assert not limits.throttle_stage(wb, built.id, {"rateLimit": 0.2, "burstLimit": 3})  # already so
    assert limits.stage_throttling(wb, built.id) == {"rateLimit": 0.2, "burstLimit": 3}
    answers = [requests.get(f"{built.url}/images/{'0' * 64}", timeout=30) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429, 429]
    # The workbook's DEFAULT_4XX gateway response gives it the API's own shape; the type says why.
    assert answers[-1].json() == {"error": "THROTTLED", "message": "Too Many Requests"}
    assert answers[-1].headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert limits.throttle_stage(wb, built.id, {"rateLimit": 1000, "burstLimit": 2000})  # undo for others
    assert requests.get(f"{built.url}/images/{'0' * 64}", timeout=30).status_code == 200


def test_reserved_concurrency_is_set_and_reported(wb, receiver):
    assert limits.reserve_concurrency(wb, "api_receiver", 3) == 3
    lam = wb.client("lambda")
    assert lam.get_function_concurrency(FunctionName=receiver)["ReservedConcurrentExecutions"] == 3
    lam.delete_function_concurrency(FunctionName=receiver)


class _RefusingLambda:
    """A Lambda client whose account has no unreserved concurrency to spare (as in a new sandbox account)."""

    class exceptions:  # botocore spells it so
        InvalidParameterValueException = ClientError

    def __init__(self, message: str) -> None:
        self.message = message

    def put_function_concurrency(self, **_):
        raise ClientError({"Error": {"Code": "InvalidParameterValueException", "Message": self.message}},
                          "PutFunctionConcurrency")


def _wb_with(client):
    from helpers.names import Names

    return types.SimpleNamespace(client=lambda service: client, names=Names("alice", "123456789012", "us-east-1"),
                                 is_local=False)


def test_a_refused_reservation_warns_and_carries_on():
    refusing = _RefusingLambda("Specified ReservedConcurrentExecutions for function decreases account's "
                               "UnreservedConcurrentExecution below its minimum value of [10].")
    with pytest.warns(limits.ConcurrencyNotReserved, match="alice-api-receiver: Lambda refused to reserve 10"):
        assert limits.reserve_concurrency(_wb_with(refusing), "api_receiver") is None


def test_other_invalid_parameters_are_not_swallowed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ClientError):
            limits.reserve_concurrency(_wb_with(_RefusingLambda("Function not found")), "api_receiver")


def test_token_bucket_refills_at_the_rate_up_to_the_burst():
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    stage = Limits(rate=2.0, burst=3)
    assert [throttle.admit("a", "v1", stage) for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back
    assert [throttle.admit("a", "v1", stage) for _ in range(2)] == [True, False]
    now[0] = 100  # never more than the burst
    assert sum(throttle.admit("a", "v1", stage) for _ in range(10)) == 3
    assert throttle.admit("b", "v1", stage)  # another stage has its own bucket
    assert all(throttle.admit("a", "v1", None) for _ in range(100))  # no settings: not throttled
    assert throttle.admit("a", "v1", Limits(rate=2.0, burst=5))  # changed settings: a full bucket
