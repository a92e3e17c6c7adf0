"""Rekognition DetectLabels: AWS's input checks, and labels from a real vision model.

moto 5.2.5 answers DetectLabels with the same canned label ("Mobile Phone") for any
input, even a missing S3 object. This package puts AWS's input checks in front (the S3
object must exist in the caller's region, the bytes must be a JPEG or PNG that decodes,
sizes within AWS's limits, the request within the API model), then answers with labels
that come from looking at the picture: a pretrained ImageNet-1k classifier and a face
detector, named in Rekognition's style with a real hierarchy (``taxonomy.py``), filtered
by MinConfidence, MaxLabels and ``Settings.GeneralLabels`` as on AWS. The model is not
Rekognition's: ``docs/localcloud/fidelity/rekognition.md`` says what it sees and what it cannot.

Layout (moto-like): ``checks.py`` pure request and image rules, ``exceptions.py`` AWS's
error shapes, ``models.py`` where the image bytes come from, ``vision/`` the model,
``taxonomy.py`` class to label names, ``labels.py`` the answer's labels, ``engine.py`` which
source answers, ``responses.py`` the patched handler.
"""

from __future__ import annotations

import logging

from .. import config
from ..hooks import Hook, check, wrap
from . import engine, responses

log = logging.getLogger("localcloud.rekognition")

CANNED_LABELS_NOTE = (
    "Rekognition DetectLabels checks its input as AWS does, but LOCALCLOUD_LABELS=canned was "
    "chosen: the labels are moto's canned set, the same for every image: they say nothing about "
    "what the picture shows."
)

DETECT_LABELS = Hook(
    "moto.rekognition.responses",
    "RekognitionResponse.detect_labels",
    ("self",),
    "DetectLabels must check its input, then answer from the vision model",
)
S3_BACKENDS = Hook(
    "moto.s3.models",
    "s3_backends",
    None,
    "DetectLabels reads S3Object images from moto's S3 state",
)
S3_GET_BUCKET = Hook(
    "moto.s3.models",
    "S3Backend.get_bucket",
    ("self", "bucket_name"),
    "DetectLabels refuses a missing bucket or one in another region",
)
S3_GET_OBJECT = Hook(
    "moto.s3.models",
    "S3Backend.get_object",
    ("self", "bucket_name", "key_name", "version_id", "part_number", "return_delete_marker"),
    "DetectLabels reads the S3Object's key (and version) from moto's S3 state",
)
S3_KEY_SIZE = Hook(
    "moto.s3.models",
    "FakeKey.size",
    None,
    "DetectLabels refuses an S3 object over 15 MB from its size, before reading it",
)
S3_KEY_VALUE = Hook(
    "moto.s3.models",
    "FakeKey.value",
    None,
    "DetectLabels reads the S3 object's bytes to check the image",
)


HOOKS = [
    wrap(DETECT_LABELS, responses.checking_then_detecting),
    check(S3_BACKENDS),
    check(S3_GET_BUCKET),
    check(S3_GET_OBJECT),
    check(S3_KEY_SIZE),
    check(S3_KEY_VALUE),
]


def configure() -> None:
    """Load the label source (called once by the server; idempotent).

    Raises ``engine.LabelsUnavailable`` (the server then refuses to start) when the model is
    chosen but broken. When its packages are not installed at all (``pip install .`` without
    the ``vision`` extra and the weights), the rest of the local cloud is still useful: it
    starts, and DetectLabels answers an error that says what to install.
    """
    if responses.ENGINE is None and responses.MISSING is None and engine.mode() == "model":
        try:
            responses.ENGINE = engine.load(config.model_cache_dir())
        except engine.LabelsNotInstalled as exc:
            responses.MISSING = str(exc)
            log.warning("DetectLabels has no model: %s", exc)


def labels_note() -> str:
    """What answers DetectLabels in this server, for ``status`` and the notebooks."""
    if responses.MISSING is not None:
        return f"Rekognition DetectLabels has no model in this local cloud, so it answers an error: {responses.MISSING}"
    return CANNED_LABELS_NOTE if responses.ENGINE is None else responses.ENGINE.describe()
