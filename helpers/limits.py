"""How much of a shared AWS account one learner's pipeline may use: stage throttling, reserved concurrency.

In a classroom, many learners share one account, and a function's concurrency comes from
the account's pool (1,000 by default, per region). Without limits, a flood of requests to one
learner's public API would take that pool from everyone, and run up the bill. So on AWS:

- the API's stage is throttled (every method): ``STAGE_THROTTLING``; beyond it API Gateway
  answers ``429 {"message":"Too Many Requests"}`` itself (gateway response type THROTTLED,
  which the workbook's DEFAULT_4XX turns into ``{"error": "THROTTLED", "message": "Too Many
  Requests"}``), and the function is never invoked;
- each function has reserved concurrency, ``RESERVED_CONCURRENCY``: at most that many run at
  once, and a further invocation is refused with ``TooManyRequestsException`` (429). API
  Gateway answers that as ``500 {"message": "Internal server error"}`` (INTEGRATION_FAILURE);
  Step Functions retries it (``Lambda.TooManyRequestsException`` in the state machine's
  Retry); S3's asynchronous invocation of the upload-receiver is retried by Lambda for hours.

Lambda keeps at least 100 (10 in some new accounts) of the pool unreserved and refuses a
reservation that would go below: then :func:`reserve_concurrency` warns and carries on with
the function unreserved. On the local target neither is applied by default: the local cloud
serves one learner on the loopback, and it enforces both (a stage's throttling, a function's
reservation), so limits set there would only slow the load benchmark; tests set them explicitly.
"""

from __future__ import annotations

import warnings
from typing import Any

from .workbook import Workbook

# Requests a second and burst for the whole stage: a learner's notebooks send a few requests
# a second at most; 20/40 leaves room for 06's sequence of photos and polls.
STAGE_THROTTLING = {"rateLimit": 20.0, "burstLimit": 40}
# 27 per learner: an account with the default 1,000 keeps 100 unreserved for 33 learners.
RESERVED_CONCURRENCY = {"api_receiver": 10, "upload_receiver": 2, "image_uploader": 5, "label_detector": 5,
                        "result_store": 5}
_STAGE_DEFAULTS = "*/*"  # methodSettings key of the stage-wide settings


class ConcurrencyNotReserved(UserWarning):
    """Lambda refused the reservation (the account's unreserved pool would fall below its minimum)."""


def reserve_concurrency(wb: Workbook, key: str, count: int | None = None) -> int | None:
    """Reserve ``count`` (default: RESERVED_CONCURRENCY[key]) concurrent executions for the function.

    Returns the reservation, or None when Lambda refused it for lack of unreserved
    concurrency in the account: a warning says so, and the function runs unreserved.
    """
    count = RESERVED_CONCURRENCY[key] if count is None else count
    lam = wb.client("lambda")
    name = wb.names.function(key)
    try:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=count)
    except lam.exceptions.InvalidParameterValueException as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        if "UnreservedConcurrentExecution" not in message:
            raise
        warnings.warn(f"{name}: Lambda refused to reserve {count} concurrent executions ({message}); the "
                      f"function runs without a reservation, so without a cap of its own. Ask for a higher "
                      f"concurrency quota (Service Quotas, 'Concurrent executions') to get one.",
                      ConcurrencyNotReserved, stacklevel=2)
        return None
    return count


def applies(wb: Workbook) -> bool:
    """Whether the workbook sets its limits by default: on AWS only (see the module's docstring)."""
    return not wb.is_local


def stage_throttling(wb: Workbook, api_id: str) -> dict[str, Any]:
    """The stage's stage-wide throttling as API Gateway reports it ({} when none is set)."""
    stage = wb.client("apigateway").get_stage(restApiId=api_id, stageName=wb.names.stage)
    settings = stage.get("methodSettings", {}).get(_STAGE_DEFAULTS, {})
    return {name: settings[key] for name, key in (("rateLimit", "throttlingRateLimit"),
                                                  ("burstLimit", "throttlingBurstLimit")) if key in settings}


def throttle_stage(wb: Workbook, api_id: str, limits: dict[str, Any] | None = None) -> bool:
    """Set the stage's rate and burst (UpdateStage /*/*/throttling/...); False when already so."""
    wanted = dict(STAGE_THROTTLING if limits is None else limits)
    current = stage_throttling(wb, api_id)
    if current and float(current.get("rateLimit", -1)) == float(wanted["rateLimit"]) \
            and int(current.get("burstLimit", -1)) == int(wanted["burstLimit"]):
        return False
    wb.client("apigateway").update_stage(restApiId=api_id, stageName=wb.names.stage, patchOperations=[
        {"op": "replace", "path": f"/*/*/throttling/{name}", "value": str(wanted[name])}
        for name in ("rateLimit", "burstLimit")])
    return True
