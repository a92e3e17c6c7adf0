"""One API call on its way through the data plane: the request, where it goes, and $context.

Integrations, the proxy event and mapping templates all read the same :class:`Invocation`,
so ``requestContext`` in a Lambda event and ``$context`` in a template cannot disagree.
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
        identity: dict[str, Any] = {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": self.request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": self.request.header("User-Agent"),
            "user": None,
        }
        if self.api_key is not None:
            identity["apiKey"] = self.api_key.value
            identity["apiKeyId"] = self.api_key.key_id
        resource_path = self.route.resource.path
        return {
            "resourceId": self.route.resource.id,
            "resourcePath": resource_path,
            "httpMethod": self.request.http_method,
            "extendedRequestId": self.extended_request_id,
            "requestTime": format_request_time(self.received_at),
            "path": f"/{self.stage.stage_name}{self.request.path}",
            "accountId": self.stage.account_id,
            "protocol": self.request.protocol,
            "stage": self.stage.stage_name,
            "domainPrefix": self.stage.api_id,
            "requestTimeEpoch": int(self.received_at.timestamp() * 1000),
            "requestId": self.request_id,
            "identity": identity,
            "domainName": self.request.host,
            "deploymentId": self.stage.deployment_id,
            "apiId": self.stage.api_id,
        }
