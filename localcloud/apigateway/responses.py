"""Wire side of the API Gateway data plane: one WSGI call per API request.

Checks happen in API Gateway's order: body size, API and stage, the stage's throttling,
resource and method, API key, then the integration. Every answer, from the integration or
from the gateway itself, carries ``x-amzn-RequestId`` (the ``requestContext.requestId`` the
integration saw) and ``x-amz-apigw-id`` (the extended request id); gateway errors add
``x-amzn-ErrorType``. A gateway error becomes its answer in :mod:`.gateway_responses`, which
applies the deployed API's own customisation (PutGatewayResponse) of it, if any.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response

from . import apikeys, deployments, errors, gateway_responses, integrations, router, throttling
from .context import ApiRequest, ApiResponse, Invocation, Progress, new_extended_request_id, new_request_id

log = logging.getLogger("localcloud.apigateway")

_READ_CHUNK = 1024 * 1024


def _wsgi_text(value: str) -> str:
    """WSGI hands over paths and query strings as latin-1; the client sent UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body; 413 once it passes API Gateway's 10 MB, after draining the rest.

    Draining keeps the connection usable: answering while the client is still sending makes
    it see a reset instead of the 413.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    declared = environ.get("CONTENT_LENGTH") or ""
    remaining = int(declared) if declared.isdigit() else None
    if remaining is None and not environ.get("wsgi.input_terminated"):
        return b""  # no length and not chunked: HTTP says there is no body
    chunks: list[bytes] = []
    size = 0
    while remaining is None or remaining > 0:
        chunk = stream.read(_READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining))
        if not chunk:
            break
        size += len(chunk)
        if remaining is not None:
            remaining -= len(chunk)
        if size <= errors.MAX_BODY_BYTES:
            chunks.append(chunk)
    if size > errors.MAX_BODY_BYTES:
        raise errors.request_too_large(size)
    return b"".join(chunks)


def parse_request(environ: dict[str, Any], path: str, body: bytes) -> ApiRequest:
    """The request as the data plane sees it; header names come back title-cased (WSGI drops the spelling)."""
    headers = Headers()
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.add(key[5:].replace("_", "-").title(), value)
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers.add(name, environ[key])
    return ApiRequest(
        http_method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path,
        headers=tuple(headers.items()),
        query=tuple(parse_qsl(_wsgi_text(environ.get("QUERY_STRING", "")), keep_blank_values=True)),
        body=body,
        source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
        host=environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '')}",
        server_port=str(environ.get("SERVER_PORT", "")),
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
    )


class ExecuteApiApp:
    """Serves ``/_aws/execute-api/{api}/{stage}/{path}`` and ``/restapis/{api}/{stage}/_user_request_/{path}``."""

    def __init__(self, port: int, invoker: integrations.LambdaInvoker | None = None) -> None:
        self.port = port
        self.invoker = invoker or integrations.runtime_invoker

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any], api_id: str, stage: str,
                 path: str | None) -> Iterable[bytes]:
        request_id = new_request_id()
        extended_id = new_extended_request_id()
        progress = Progress(received_at=datetime.now(timezone.utc))
        try:
            answer = self.handle(environ, api_id, stage, path, request_id, extended_id, progress)
        except errors.GatewayError as exc:
            log.info("%s %s/%s%s -> %s %s: %s", environ.get("REQUEST_METHOD"), api_id, stage, path or "",
                     exc.status, exc.response_type, exc.reason)
            answer = gateway_responses.answer(exc, progress, request_id=request_id, extended_request_id=extended_id)
        except Exception:
            log.exception("API Gateway data plane failed on %s/%s%s", api_id, stage, path or "")
            error = errors.internal_server_error("unexpected error in the local cloud",
                                                 response_type=errors.DEFAULT_5XX)
            answer = gateway_responses.answer(error, progress, request_id=request_id, extended_request_id=extended_id)
        response = Response(answer.body, status=answer.status)
        response.headers.clear()
        for name, value in answer.headers:
            response.headers.add(name, value)
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["x-amz-apigw-id"] = extended_id
        return response(environ, start_response)

    def handle(self, environ: dict[str, Any], api_id: str, stage_name: str, path: str | None,
               request_id: str, extended_id: str, progress: Progress) -> ApiResponse:
        """The integration's answer; a GatewayError otherwise, with ``progress`` telling how far it got."""
        body = read_body(environ)
        request = progress.request = parse_request(environ, _wsgi_text(path or ""), body)
        stage = deployments.find_stage(api_id, stage_name)
        if stage is None:
            raise errors.forbidden(f"no stage {stage_name!r} on API {api_id!r}")
        progress.stage = stage
        if not throttling.STAGES.admit(api_id, stage_name, stage.throttle):
            raise errors.too_many_requests(f"stage throttling: at most {stage.throttle.rate:g} requests a second, "
                                           f"bursts of {stage.throttle.burst}")
        if path is None:
            # https://{api}.execute-api.../{stage} without the trailing slash reaches no resource.
            raise errors.missing_authentication_token("no path after the stage name")
        route = router.match(stage.api.resources, request.http_method, request.path)
        if route is None:
            raise errors.missing_authentication_token(
                f"no deployed resource+method for {request.http_method} {request.path}")
        progress.route = route
        api_key = apikeys.require_key(request, stage) if route.method.api_key_required else None
        progress.api_key = api_key
        authorization = (route.method.authorization_type or "NONE").upper()
        if authorization != "NONE":
            log.warning("authorizationType %s on %s %s is not enforced by the local cloud",
                        authorization, request.http_method, route.resource.path)
        invocation = Invocation(
            request=request, stage=stage, route=route, request_id=request_id,
            extended_request_id=extended_id, received_at=progress.received_at, api_key=api_key,
        )
        return integrations.run(invocation, self.invoker)
