"""One API call on its way through the data plane: the request, where it goes, and $context.

Integrations, the proxy event and mapping templates all read the same :class:`Invocation`,
so ``requestContext`` in a Lambda event and ``$context`` in a template cannot disagree; a
gateway response reads the same context from :class:`Progress`, as far as the request got.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .deployments import StageTarget
from .router import Route

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ApiRequest:
    """The client's request, path relative to the stage (``/photos/1``), body already read."""

    http_method: str
    path: str
    headers: tuple[tuple[str, str], ...]  # in arrival order, names as the server reports them
    query: tuple[tuple[str, str], ...]  # decoded (name, value) pairs in order, blanks kept
    body: bytes
    source_ip: str
    host: str
    server_port: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """Last value of a header, matched case-insensitively (AWS keeps the last duplicate)."""
        wanted = name.lower()
        value = None
        for key, item in self.headers:
            if key.lower() == wanted:
                value = item
        return value


@dataclass
class ApiResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class ApiKeyUse:
    """The API key a request was let through with (for ``identity.apiKey``/``apiKeyId``)."""

    key_id: str
    value: str


def new_request_id() -> str:
    return str(uuid.uuid4())


def new_extended_request_id() -> str:
    # AWS's look: 16 url-safe base64 characters, the last one "=".
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()[:15] + "="


def format_request_time(moment: datetime) -> str:
    """``09/Apr/2015:12:34:56 +0000``, the CLF format of ``requestContext.requestTime``."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc.day:02d}/{_MONTHS[utc.month - 1]}/{utc.year}:{utc:%H:%M:%S} +0000"


@dataclass(frozen=True)
class Invocation:
    request: ApiRequest
    stage: StageTarget
    route: Route
    request_id: str
    extended_request_id: str
    received_at: datetime
    api_key: ApiKeyUse | None = None

    @property
    def stage_variables(self) -> Mapping[str, str]:
        return self.stage.variables

    def context_variables(self) -> dict[str, Any]:
        """``requestContext`` of the proxy event, and ``$context`` of mapping templates."""
        return request_context(
            self.request, self.stage, request_id=self.request_id, extended_request_id=self.extended_request_id,
            received_at=self.received_at, route=self.route, api_key=self.api_key,
        )


@dataclass
class Progress:
    """How far a request got before API Gateway answered it itself: what a gateway response may use."""

    received_at: datetime
    request: ApiRequest | None = None
    stage: StageTarget | None = None
    route: Route | None = None  # None until a resource and method matched
    api_key: ApiKeyUse | None = None


def request_context(request: ApiRequest, stage: StageTarget, *, request_id: str, extended_request_id: str,
                    received_at: datetime, route: Route | None = None,
                    api_key: ApiKeyUse | None = None) -> dict[str, Any]:
    """``$context`` / ``requestContext``; without a route (no resource matched) resourceId/Path are None."""
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent"),
        "user": None,
    }
    if api_key is not None:
        identity["apiKey"] = api_key.value
        identity["apiKeyId"] = api_key.key_id
    return {
        "resourceId": route.resource.id if route is not None else None,
        "resourcePath": route.resource.path if route is not None else None,
        "httpMethod": request.http_method,
        "extendedRequestId": extended_request_id,
        "requestTime": format_request_time(received_at),
        "path": f"/{stage.stage_name}{request.path}",
        "accountId": stage.account_id,
        "protocol": request.protocol,
        "stage": stage.stage_name,
        "domainPrefix": stage.api_id,
        "requestTimeEpoch": int(received_at.timestamp() * 1000),
        "requestId": request_id,
        "identity": identity,
        "domainName": request.host,
        "deploymentId": stage.deployment_id,
        "apiId": stage.api_id,
    }
