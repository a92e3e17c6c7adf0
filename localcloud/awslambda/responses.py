"""Wire side of the Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.core.exceptions import JsonRESTError
from werkzeug.wrappers import Response

from .. import config
from . import runtime

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/lambda/")


def _region(environ: dict[str, Any]) -> str:
    match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else config.DEFAULT_REGION


def _client_context(environ: dict[str, Any]) -> Any:
    raw = environ.get("HTTP_X_AMZ_CLIENT_CONTEXT")
    if not raw:
        return None
    try:
        return json.loads(base64.b64decode(raw))
    except ValueError:
        return None


class InvokeApp:
    def __call__(self, environ: dict[str, Any], start_response: Any, function: str):
        request_id = str(uuid.uuid4())
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        limit = runtime.ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else runtime.SYNC_PAYLOAD_LIMIT
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > limit:
                # Answer before reading a body we would reject anyway.
                raise runtime.RequestTooLarge(limit, "Invoke")
            payload = environ["wsgi.input"].read(length) if length else b""
            qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
            result = runtime.invoke(
                unquote(function),
                payload,
                qualifier=qualifier,
                invocation_type=invocation_type,
                log_type=environ.get("HTTP_X_AMZ_LOG_TYPE", "None"),
                account_id=config.ACCOUNT_ID,
                region=_region(environ),
                client_context=_client_context(environ),
            )
        except JsonRESTError as exc:
            response = Response(exc.get_body(), status=exc.code, mimetype="application/json")
            response.headers["x-amzn-ErrorType"] = exc.error_type
            response.headers["x-amzn-RequestId"] = request_id
            return response(environ, start_response)
        response = Response(result.payload, status=result.status_code, mimetype="application/json")
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error:
            response.headers["X-Amz-Function-Error"] = result.function_error
        if result.log_result is not None:
            response.headers["X-Amz-Log-Result"] = result.log_result
        return response(environ, start_response)
