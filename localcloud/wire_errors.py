"""An AWS error in the wire format of the service it is about, so boto3 raises the same
``ClientError`` it would against AWS.

Four shapes: JSON 1.0/1.1 with ``__type`` (DynamoDB, Step Functions, Rekognition, Logs and
other ``X-Amz-Target`` services), rest-json with ``x-amzn-ErrorType`` (Lambda, API
Gateway), rest-xml ``<Error>`` (S3), and the query protocol's ``<ErrorResponse>`` (IAM,
STS). Used by fault injection and by the front door's authentication.
"""

from __future__ import annotations

import json
import re
import uuid
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

# DynamoDB qualifies __type with its model's namespace; botocore keeps what follows '#'.
_JSON_TYPE_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#"}
REST_JSON = {"lambda", "apigateway"}
REST_XML = {"s3"}
_API_VERSION_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/")


def status_line(status: int) -> str:
    known = HTTPStatus._value2member_map_.get(status)
    return f"{status} {known.phrase}" if known else f"{status} Error"  # type: ignore[attr-defined]


def protocol_of(environ: dict[str, Any], service: str | None) -> tuple[str, str]:
    """(protocol, JSON version) of the request: from its service when known, else from its shape."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json", "1.0" if "1.0" in environ.get("CONTENT_TYPE", "") else "1.1"
    if service in REST_XML:
        return "rest-xml", ""
    if service in REST_JSON:
        return "rest-json", ""
    if service is None:
        path = environ.get("PATH_INFO", "")
        if _API_VERSION_PATH.match(path) or path.startswith("/restapis"):
            return "rest-json", ""
        if "Action=" in environ.get("QUERY_STRING", "") or \
                environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return "query", ""
        return "rest-xml", ""
    return "query", ""


def render(protocol: str, service: str | None, code: str, message: str, status: int, *,
           method: str = "POST", json_version: str = "1.1", extra: dict[str, Any] | None = None,
           headers: list[tuple[str, str]] | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the error ``code`` as ``service`` sends it."""
    request_id = str(uuid.uuid4())
    out = [("x-amzn-RequestId", request_id), *(headers or [])]
    if protocol == "rest-xml":
        more = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in (extra or {}).items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{more}"
            f"<RequestId>{request_id}</RequestId><HostId>localcloud</HostId></Error>"
        ).encode()
        out += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
        if method == "HEAD":  # a HEAD answer has no body; boto3 names the error after the status
            body = b""
    elif protocol == "rest-json":
        document: dict[str, Any] = {"Type": "Service" if status >= 500 else "User", "message": message,
                                    **(extra or {})}
        body = json.dumps(document).encode()
        out += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    elif protocol == "json":
        document = {"__type": _JSON_TYPE_PREFIX.get(service or "", "") + code, "message": message}
        if service == "rekognition":
            document = {"__type": code, "Code": code, "Message": message}
        document.update(extra or {})
        body = json.dumps(document).encode()
        out.append(("Content-Type", f"application/x-amz-json-{json_version}"))
    else:  # query protocol (IAM, STS, ...)
        body = (
            f'<ErrorResponse><Error><Type>{"Receiver" if status >= 500 else "Sender"}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        out.append(("Content-Type", "text/xml"))
    out.append(("Content-Length", str(len(body))))
    return status_line(status), out, body
