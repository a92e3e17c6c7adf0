"""Binary versus text payloads: the API's binaryMediaTypes and contentHandling.

API Gateway calls a payload binary when its media type (the request's Content-Type, or for
responses the first media type of the request's Accept header) matches one of the API's
``binaryMediaTypes``; everything else is text. The conversion tables are in
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping

from . import errors

CONVERT_TO_TEXT = "CONVERT_TO_TEXT"
CONVERT_TO_BINARY = "CONVERT_TO_BINARY"


def media_type(header_value: str | None) -> str | None:
    """``image/png`` from ``image/png; charset=x``; None when absent or empty."""
    if not header_value:
        return None
    value = header_value.split(";", 1)[0].strip().lower()
    return value or None


def first_accept(accept_header: str | None) -> str | None:
    """AWS honours only the first media type of an Accept header."""
    if not accept_header:
        return None
    return media_type(accept_header.split(",", 1)[0])


def choose_template(templates: Mapping[str, str], accept: str | None) -> tuple[str, str] | None:
    """(content type, template) by the first Accept type, then JSON, then the first; None if none.

    How API Gateway picks among an integration response's or a gateway response's templates.
    """
    if not templates:
        return None
    for wanted in (first_accept(accept), "application/json"):
        for key, template in templates.items():
            if wanted and key.lower() == wanted:
                return key, template
    key, template = next(iter(templates.items()))
    return key, template


def is_binary(mime: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether ``mime`` matches a binaryMediaTypes entry (``*/*`` and ``image/*`` wildcards)."""
    if not mime or "/" not in mime:
        return False
    kind, subtype = mime.split("/", 1)
    for entry in binary_media_types:
        pattern = entry.strip().lower()
        if "/" not in pattern:
            continue
        p_kind, p_subtype = pattern.split("/", 1)
        if p_kind in ("*", kind) and p_subtype in ("*", subtype):
            return True
    return False


def b64decode_or_fail(text: str | bytes) -> bytes:
    """Strict base64 decoding; AWS answers 500 (API configuration error) when it fails."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.internal_server_error(f"base64 decoding of the payload failed: {exc}") from exc


def unwrap_json_string(payload: bytes) -> bytes:
    """A Lambda returning a string yields a JSON string literal; its content is the base64 text."""
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload
    return value.encode() if isinstance(value, str) else payload


def integration_request_body(body: bytes, binary: bool, content_handling: str | None) -> tuple[bytes, bool]:
    """(payload for the integration, whether it is still binary) per AWS's request table."""
    if binary:
        if content_handling == CONVERT_TO_TEXT:
            return base64.b64encode(body), False
        return body, True
    if content_handling == CONVERT_TO_BINARY:
        return b64decode_or_fail(body), True
    return body, False


def response_to_binary(accept_is_binary: bool, content_handling: str | None) -> bool:
    """Whether a text integration response (all a Lambda returns) is base64-decoded for the client."""
    if content_handling == CONVERT_TO_BINARY:
        return True
    if content_handling == CONVERT_TO_TEXT:
        return False
    return accept_is_binary
