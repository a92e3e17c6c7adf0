"""API Gateway REST (v1) data plane: serves deployed stages over HTTP.

The HTTP side lives in :mod:`.responses`. The hooks here (:data:`HOOKS`) make moto's control plane keep what
the data plane needs:

* CreateDeployment freezes the API (see :mod:`.deployments`), so a stage serves what was
  deployed, and re-deploying to an existing stage keeps that stage's variables as AWS does
  (moto replaces the stage object).
* CreateRestApi honours ``binaryMediaTypes`` (moto drops the parameter).
* UpdateRestApi understands AWS's ``/binaryMediaTypes/image~1png`` patch paths (moto reads
  the media type from ``value``, which AWS clients leave empty for add and remove).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..hooks import Hook, wrap

CREATE_DEPLOYMENT = Hook(
    module="moto.apigateway.models",
    attribute="RestAPI.create_deployment",
    params=("self", "name", "description", "stage_variables"),
    why="a stage serves the deployment snapshot it points to, not later edits",
)
CREATE_REST_API = Hook(
    module="moto.apigateway.responses",
    attribute="APIGatewayResponse.create_rest_api",
    params=("self",),
    why="CreateRestApi's binaryMediaTypes decide when proxy bodies are base64-encoded",
)
PATCH_REST_API = Hook(
    module="moto.apigateway.models",
    attribute="RestAPI.apply_patch_operations",
    params=("self", "patch_operations"),
    why="UpdateRestApi names binary media types in the patch path (/binaryMediaTypes/image~1png)",
)

_BINARY_PATH_PREFIX = "/binaryMediaTypes/"


def _freezing_deployments(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_deployment(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
        from .deployments import SNAPSHOT_ATTRIBUTE, capture

        existing_stage = self.stages.get(name) if name else None
        deployment = original(self, name, description, stage_variables)
        setattr(deployment, SNAPSHOT_ATTRIBUTE, capture(self))
        if existing_stage is not None and self.stages.get(name) is not existing_stage:
            # AWS re-points the existing stage (variables and settings kept); moto made a new one.
            existing_stage.deployment_id = deployment.id
            existing_stage.variables.update(stage_variables or {})
            self.stages[name] = existing_stage
        return deployment

    return create_deployment


def _keeping_binary_media_types(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_rest_api(self: Any) -> Any:
        status, headers, body = original(self)
        media_types = self._get_param("binaryMediaTypes")
        if status == 200 and isinstance(media_types, list) and media_types:
            rest_api = self.backend.get_rest_api(json.loads(body)["id"])
            rest_api.binaryMediaTypes = [str(media_type) for media_type in media_types]
            body = json.dumps(rest_api.to_dict())
        return status, headers, body

    return create_rest_api


def _decode_pointer(segment: str) -> str:
    """JSON-pointer unescaping, as AWS uses for media types in patch paths."""
    return segment.replace("~1", "/").replace("~0", "~")


def _binary_media_type_paths(original: Callable[..., Any]) -> Callable[..., Any]:
    def apply_patch_operations(self: Any, patch_operations: list[dict[str, Any]]) -> Any:
        remaining = []
        for op in patch_operations:
            path = op.get("path", "")
            if not path.startswith(_BINARY_PATH_PREFIX):
                remaining.append(op)
                continue
            media_type = _decode_pointer(path[len(_BINARY_PATH_PREFIX):])
            current = list(self.binaryMediaTypes or [])
            if op.get("op") == "add" and media_type not in current:
                current.append(media_type)
            elif op.get("op") == "remove" and media_type in current:
                current.remove(media_type)
            elif op.get("op") == "replace":
                new_type = str(op.get("value") or "")
                current = [new_type if existing == media_type else existing for existing in current]
            self.binaryMediaTypes = current
        return original(self, remaining)

    return apply_patch_operations


HOOKS = [
    wrap(CREATE_DEPLOYMENT, _freezing_deployments),
    wrap(CREATE_REST_API, _keeping_binary_media_types),
    wrap(PATCH_REST_API, _binary_media_type_paths),
]
