"""The DetectLabels request handler that replaces moto's ``RekognitionResponse.detect_labels``.

Why the response layer: moto's backend ``detect_labels(self)`` never sees the request,
so the checks need the handler, which has the body, the caller's account and region.
Errors raised here are JsonRESTErrors, which moto's dispatcher already turns into HTTP
400 responses; on success moto's own handler still builds the body, and only its
``Labels`` are filtered and ordered, so the wire format stays moto's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import checks, models
from .exceptions import SerializationException

# Set by install(): moto's original handler, called for the (canned) answer.
_original: Callable[[Any], str] | None = None


def detect_labels(self: Any) -> str:
    """DetectLabels with AWS's input checks in front of moto's canned answer."""
    request = checks.parse_request(_body(self))
    data = models.image_bytes(request, self.current_account, self.region)
    checks.classify_image(data)
    assert _original is not None, "rekognition.install() was not called"
    answer = json.loads(_original(self))
    answer["Labels"] = checks.select_labels(
        answer.get("Labels", []), request.min_confidence, request.max_labels
    )
    return json.dumps(answer)


def _body(response: Any) -> dict[str, Any]:
    raw = response.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(raw or "{}")
    except ValueError as exc:
        raise SerializationException("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SerializationException("Request body must be a JSON object")
    return body
