"""Lambda proxy integration (AWS_PROXY), payload format 1.0: the event in, the response out.

Event: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
Anything the function returns that is not a JSON object made of the five documented fields,
with the documented types, is a "Malformed Lambda proxy response": 502 Internal server error.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from . import content, errors
from .context import ApiResponse, Invocation

# Hop-by-hop and length headers are the front end's business; AWS does not pass them on.
_DROPPED_REQUEST_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive"}
# API Gateway sets these itself (appending the caller's address to X-Forwarded-For).
_FORWARDED_HEADERS = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
_RESPONSE_FIELDS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def _trace_id() -> str:
    return f"Root=1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"


def forwarded_headers(invocation: Invocation) -> list[tuple[str, str]]:
    """The client's headers as API Gateway forwards them, with the X-Forwarded-* it adds."""
    request = invocation.request
    replaced = _DROPPED_REQUEST_HEADERS | _FORWARDED_HEADERS
    kept = [(name, value) for name, value in request.headers if name.lower() not in replaced]
    forwarded_for = request.header("X-Forwarded-For")
    if request.header("X-Amzn-Trace-Id") is None:
        kept.append(("X-Amzn-Trace-Id", _trace_id()))
    kept.append(("X-Forwarded-For", f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip))
    kept.append(("X-Forwarded-Port", request.server_port))
    kept.append(("X-Forwarded-Proto", "http"))
    return kept


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """AWS's (last value wins, all values) pair of maps; both null when there is nothing."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def build_event(invocation: Invocation, binary_media_types: tuple[str, ...]) -> dict[str, Any]:
    """The version 1.0 proxy event for this invocation."""
    request = invocation.request
    headers, multi_headers = _single_and_multi(forwarded_headers(invocation))
    query, multi_query = _single_and_multi(list(request.query))
    body: str | None = None
    is_base64 = False
    if request.body:
        if content.is_binary(content.media_type(request.header("Content-Type")), binary_media_types):
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        else:
            body = request.body.decode("utf-8", errors="replace")
    return {
        "resource": invocation.route.resource.path,
        "path": request.path,
        "httpMethod": request.http_method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(invocation.route.path_parameters) or None,
        "stageVariables": dict(invocation.stage_variables) or None,
        "requestContext": invocation.context_variables(),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _malformed(why: str) -> errors.GatewayError:
    return errors.internal_server_error(f"Malformed Lambda proxy response: {why}", status=502)


def _header_value(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    raise _malformed(f"header {name!r} has a {type(value).__name__} value")


def _merged_headers(document: dict[str, Any]) -> list[tuple[str, str]]:
    """headers + multiValueHeaders, merged as AWS documents (multi-value entries win duplicates)."""
    single = document.get("headers")
    multi = document.get("multiValueHeaders")
    single = {} if single is None else single
    multi = {} if multi is None else multi
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise _malformed("headers and multiValueHeaders must be objects")
    merged: dict[str, list[str]] = {}
    for name, values in multi.items():
        values = values if isinstance(values, list) else [values]
        merged[name] = [_header_value(value, name) for value in values]
    for name, value in single.items():
        text = _header_value(value, name)
        if text not in merged.setdefault(name, []):
            merged[name].append(text)
    return [(name, value) for name, values in merged.items() for value in values]


def map_response(payload: bytes, function_error: str | None, accept_is_binary: bool) -> ApiResponse:
    """The client's response from a proxy Lambda's result, or a 502 GatewayError."""
    if function_error:
        raise errors.internal_server_error(f"Lambda function error ({function_error})", status=502)
    try:
        document = json.loads(payload) if payload else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed(f"not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise _malformed(f"a {type(document).__name__}, not an object")
    unknown = set(document) - _RESPONSE_FIELDS
    if unknown:
        raise _malformed(f"unexpected fields {sorted(unknown)}")

    status = document.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not str(status).strip().isdigit():
        raise _malformed(f"statusCode {status!r} is not an integer")
    body = document.get("body")
    if body is not None and not isinstance(body, str):
        raise _malformed(f"body is a {type(body).__name__}, not a string")
    is_base64 = document.get("isBase64Encoded", False)
    if isinstance(is_base64, str) and is_base64.lower() in ("true", "false"):
        is_base64 = is_base64.lower() == "true"
    if not isinstance(is_base64, bool):
        raise _malformed(f"isBase64Encoded {is_base64!r} is not a boolean")

    headers = _merged_headers(document)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    text = body or ""
    if is_base64 and accept_is_binary:
        raw = content.b64decode_or_fail(text)
    else:
        # Without a binary Accept type AWS hands the base64 text to the client unchanged.
        raw = text.encode("utf-8")
    return ApiResponse(status=int(str(status).strip()), headers=headers, body=raw)
