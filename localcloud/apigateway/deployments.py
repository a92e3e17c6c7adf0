"""What a stage serves: the frozen copy of an API taken when it was deployed.

On AWS a stage keeps answering with the deployment it points to; edits to resources, methods,
integrations and gateway responses stay invisible until the next CreateDeployment. moto keeps
only the live API, so the CreateDeployment hook (see ``__init__``) calls :func:`capture` and
keeps the copy on moto's own Deployment object: it lives and dies with moto's state, and a
stage switched to an older deployment (UpdateStage ``/deploymentId``) serves that older copy.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .throttling import Limits, limits_of

log = logging.getLogger("localcloud.apigateway")

SNAPSHOT_ATTRIBUTE = "localcloud_snapshot"


@dataclass(frozen=True)
class DeployedResource:
    id: str
    path: str  # full template path, e.g. "/photos/{id}/{proxy+}"
    methods: Mapping[str, Any]  # HTTP method or "ANY" -> moto Method (a private copy)


@dataclass(frozen=True)
class DeployedGatewayResponse:
    """One PutGatewayResponse customisation, as deployed."""

    response_type: str
    status_code: str | None
    response_parameters: Mapping[str, str]
    response_templates: Mapping[str, str]


@dataclass(frozen=True)
class DeployedApi:
    resources: tuple[DeployedResource, ...]
    binary_media_types: tuple[str, ...]
    api_key_source: str
    # responseType -> customisation; only the types the API customised.
    gateway_responses: Mapping[str, DeployedGatewayResponse] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class StageTarget:
    """A stage ready to serve: where it lives, its variables, and the API it serves."""

    account_id: str
    region: str
    api_id: str
    stage_name: str
    deployment_id: str | None
    variables: Mapping[str, str]
    api: DeployedApi
    throttle: Limits | None = None  # the stage's rate and burst (UpdateStage /*/*/throttling/...)


def _resource_paths(resources: Mapping[str, Any]) -> dict[str, str]:
    """Full path of every resource, computed from this API's own resources.

    moto's ``Resource.get_path`` looks parents up in the live backend, which a snapshot must
    not depend on.
    """
    paths: dict[str, str] = {}

    def path_of(resource_id: str, seen: frozenset[str] = frozenset()) -> str:
        if resource_id in paths:
            return paths[resource_id]
        resource = resources[resource_id]
        if not resource.parent_id or resource.parent_id not in resources or resource_id in seen:
            result = "/"
        else:
            parent = path_of(resource.parent_id, seen | {resource_id})
            result = parent.rstrip("/") + "/" + resource.path_part
        paths[resource_id] = result
        return result

    for resource_id in resources:
        path_of(resource_id)
    return paths


def _gateway_responses(rest_api: Any) -> Mapping[str, DeployedGatewayResponse]:
    frozen = {}
    for response_type, response in dict(getattr(rest_api, "gateway_responses", None) or {}).items():
        status = getattr(response, "status_code", None)
        frozen[str(response_type).upper()] = DeployedGatewayResponse(
            response_type=str(response_type).upper(),
            status_code=str(status) if status not in (None, "") else None,
            response_parameters=MappingProxyType(dict(getattr(response, "response_parameters", None) or {})),
            response_templates=MappingProxyType(dict(getattr(response, "response_templates", None) or {})),
        )
    return MappingProxyType(frozen)


def capture(rest_api: Any) -> DeployedApi:
    """Freeze what a stage serves of a moto RestAPI: resources, methods, integrations, media types,
    gateway responses."""
    resources = dict(rest_api.resources)
    paths = _resource_paths(resources)
    frozen = tuple(
        DeployedResource(
            id=resource.id,
            path=paths[resource.id],
            methods=MappingProxyType(copy.deepcopy(dict(resource.resource_methods))),
        )
        for resource in resources.values()
    )
    return DeployedApi(
        resources=frozen,
        binary_media_types=tuple(rest_api.binaryMediaTypes or ()),
        api_key_source=rest_api.api_key_source or "HEADER",
        gateway_responses=_gateway_responses(rest_api),
    )


def _backends() -> Iterator[tuple[str, str, Any]]:
    from moto.apigateway.models import apigateway_backends

    for account_id in list(apigateway_backends.keys()):
        # dict.items: iterating the BackendDict itself would create a backend per region.
        for region, backend in list(dict.items(apigateway_backends[account_id])):
            yield account_id, region, backend


def find_rest_api(api_id: str) -> tuple[str, str, Any] | None:
    """(account, region, RestAPI) of an API id, whichever account and region created it."""
    for account_id, region, backend in _backends():
        rest_api = backend.apis.get(api_id)
        if rest_api is not None:
            return account_id, region, rest_api
    return None


def find_stage(api_id: str, stage_name: str) -> StageTarget | None:
    """The stage to serve, or None when the API or the stage does not exist."""
    found = find_rest_api(api_id)
    if found is None:
        return None
    account_id, region, rest_api = found
    stage = rest_api.stages.get(stage_name)
    if stage is None:
        return None
    deployment = rest_api.deployments.get(stage.deployment_id) if stage.deployment_id else None
    snapshot = getattr(deployment, SNAPSHOT_ATTRIBUTE, None) if deployment is not None else None
    if snapshot is None:
        log.warning(
            "stage %s/%s has no deployment snapshot (deployment %s); serving the live API",
            api_id, stage_name, stage.deployment_id,
        )
        snapshot = capture(rest_api)
    return StageTarget(
        account_id=account_id,
        region=region,
        api_id=api_id,
        stage_name=stage_name,
        deployment_id=stage.deployment_id,
        variables=MappingProxyType(dict(stage.variables or {})),
        api=snapshot,
        throttle=limits_of(stage),
    )
