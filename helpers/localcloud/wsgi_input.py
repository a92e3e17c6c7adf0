"""The one way the front door's checks read a request body without taking it from moto."""

from __future__ import annotations

import io
from typing import Any


def buffer_body(environ: dict[str, Any]) -> bytes:
    """Read the whole body and put it back, so moto can still read it."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    if not length and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return body
