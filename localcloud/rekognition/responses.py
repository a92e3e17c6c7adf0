"""The DetectLabels request handler that replaces moto's ``RekognitionResponse.detect_labels``.

Why the response layer: moto's backend ``detect_labels(self)`` never sees the request,
so the checks need the handler, which has the body, the caller's account and region.
Errors raised here are JsonRESTErrors, which moto's dispatcher already turns into HTTP
400 responses. The labels come from the engine chosen at start (``engine.py``): the vision
model, or, only when chosen on purpose, moto's canned answer, with the same Features,
filters, MinConfidence and MaxLabels applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import checks, labels, models
from .engine import VisionEngine
from .exceptions import LabelModelNotInstalled, SerializationException

# Set by rekognition.configure(): the vision engine, None when LOCALCLOUD_LABELS=canned or
# when the model is not installed; then MISSING says what to install.
ENGINE: VisionEngine | None = None
MISSING: str | None = None


def checking_then_detecting(original: Callable[[Any], str]) -> Callable[[Any], str]:
    """The replacement handler; ``original`` is moto's, whose canned answer serves LOCALCLOUD_LABELS=canned."""

    def detect_labels(self: Any) -> str:
        """DetectLabels: AWS's input checks, then labels for this image, filtered as AWS does."""
        request = checks.parse_request(_body(self))
        data = models.image_bytes(request, self.current_account, self.region)
        checks.classify_image(data)
        if MISSING is not None:
            raise LabelModelNotInstalled(MISSING)
        if ENGINE is None:
            return _canned(original(self), request)
        found = ENGINE.detect(data).labels if "GENERAL_LABELS" in request.features else []
        kept = labels.apply_filters(found, request.filters)
        wire = checks.select_labels([label.to_wire() for label in kept], request.min_confidence, request.max_labels)
        return json.dumps({"Labels": wire, "LabelModelVersion": ENGINE.model_version})

    return detect_labels


def _canned(moto_answer: str, request: checks.DetectLabelsRequest) -> str:
    answer = json.loads(moto_answer)
    canned = answer.get("Labels", []) if "GENERAL_LABELS" in request.features else []
    kept = labels.apply_filters([labels.Label.from_wire(label) for label in canned], request.filters)
    names = {label.name for label in kept}
    wire = [label for label in canned if label.get("Name") in names]
    answer["Labels"] = checks.select_labels(wire, request.min_confidence, request.max_labels)
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
