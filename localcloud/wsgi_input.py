"""How the front door's checks read a request (method, path, query, body) without taking it from moto."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

_CHUNK = 64 * 1024
# What a refusal reads of an unwanted body so the connection can carry the next request;
# beyond it the connection is closed instead.
DRAIN_LIMIT = 1024 * 1024


class BodyTooLarge(ValueError):
    """The body is longer than the check reading it may hold in memory."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over {limit} bytes")
        self.limit = limit


def buffer_body(environ: dict[str, Any], limit: int | None = None) -> bytes:
    """Read the whole body and put it back, so moto can still read it.

    With ``limit``, a body declared or found longer is refused with :class:`BodyTooLarge`
    before (or as soon as) more than ``limit`` bytes would be held.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        if limit is not None and int(length) > limit:
            raise BodyTooLarge(limit)
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise BodyTooLarge(limit)
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    if not length and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return body


def discard_body(environ: dict[str, Any], limit: int = DRAIN_LIMIT) -> bool:
    """Read and drop the body in pieces; False when it is longer than ``limit`` (close the connection)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return True
    length = environ.get("CONTENT_LENGTH")
    if length:
        if int(length) > limit:
            return False
        remaining = int(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: read up to the limit, then give up
        remaining = limit + 1
    else:
        return True  # no body at all; reading would wait for the client's next request
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            return True
        remaining -= len(chunk)
    return bool(length)


def json_body(environ: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object (put back for moto); {} when it is empty, not JSON or not an object."""
    import json

    try:
        found = json.loads(buffer_body(environ) or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Request:
    """What the front door's checks read first of any AWS call: no body yet."""

    method: str
    path: str
    query: dict[str, list[str]]
    # The operation a JSON protocol call names in X-Amz-Target ("DynamoDB_20120810.PutItem"
    # -> "PutItem"); None for the REST and query protocols.
    json_operation: str | None


def request(environ: dict[str, Any]) -> Request:
    target = environ.get("HTTP_X_AMZ_TARGET")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", ""),
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        json_operation=target.rsplit(".", 1)[-1] if target else None,
    )
