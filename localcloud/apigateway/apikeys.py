"""API keys on methods with apiKeyRequired.

A key lets a request through only if it exists in the API's account and region, is enabled,
and belongs to a usage plan that lists this API and stage. Anything else is 403 Forbidden,
with no hint of which condition failed, as on AWS (gateway response type INVALID_API_KEY).
Usage plan quotas and throttles are not counted.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .context import ApiKeyUse, ApiRequest
from .deployments import StageTarget


def _backend(stage: StageTarget) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[stage.account_id][stage.region]


def _plan_serves_stage(plan: Any, stage: StageTarget) -> bool:
    return any(
        entry.get("apiId") == stage.api_id and entry.get("stage") == stage.stage_name
        for entry in (plan.api_stages or [])
    )


def require_key(request: ApiRequest, stage: StageTarget) -> ApiKeyUse:
    """The valid API key of this request, or raise 403 Forbidden."""
    if stage.api.api_key_source != "HEADER":
        # AUTHORIZER-sourced keys come from a Lambda authorizer, which is not emulated.
        raise errors.invalid_api_key("apiKeySource AUTHORIZER is not emulated; no key can be accepted")
    value = request.header("x-api-key")
    if not value:
        raise errors.invalid_api_key("apiKeyRequired and no x-api-key header")
    backend = _backend(stage)
    key = next((k for k in list(backend.keys.values()) if k.value == value), None)
    if key is None:
        raise errors.invalid_api_key("x-api-key matches no API key")
    if not key.enabled:
        raise errors.invalid_api_key(f"API key {key.id} is disabled")
    for plan_id, plan_keys in list(backend.usage_plan_keys.items()):
        plan = backend.usage_plans.get(plan_id)
        if plan is not None and key.id in plan_keys and _plan_serves_stage(plan, stage):
            return ApiKeyUse(key_id=key.id, value=key.value)
    raise errors.invalid_api_key(f"API key {key.id} is in no usage plan attached to {stage.api_id}/{stage.stage_name}")
