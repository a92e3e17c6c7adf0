"""Rekognition DetectLabels input checks, as AWS makes them; the labels stay moto's canned set.

moto 5.2.5 answers DetectLabels with the same canned label ("Mobile Phone") for any
input, even a missing S3 object. This package puts AWS's input checks in front of that
answer: the S3 object must exist in the caller's region, the bytes must be a JPEG or PNG
that decodes, sizes and dimensions must be within AWS's limits, and MaxLabels /
MinConfidence are validated and honoured (filter, most confident first, cut).

**The labels themselves are not real.** Nothing looks at the picture's content: every
accepted image gets moto's canned label set, then filtered. A notebook that needs real
labels must run against AWS. See ``docs/fidelity/rekognition.md`` for what matches AWS.

Layout (moto-like): ``checks.py`` pure rules, ``exceptions.py`` AWS's error shapes,
``models.py`` where the image bytes come from, ``responses.py`` the patched handler.
"""

from __future__ import annotations

from .. import hooks
from . import responses

CANNED_LABELS_NOTE = (
    "Rekognition DetectLabels checks its input as AWS does (S3 object exists, JPEG/PNG that "
    "decodes, size and dimension limits, MaxLabels, MinConfidence), but the labels are moto's "
    "canned set, the same for every image: they say nothing about what the picture shows."
)

DETECT_LABELS = hooks.register(
    hooks.Hook(
        "moto.rekognition.responses",
        "RekognitionResponse.detect_labels",
        ("self",),
        "DetectLabels must check its input before moto's canned answer",
    )
)
S3_BACKENDS = hooks.register(
    hooks.Hook(
        "moto.s3.models",
        "s3_backends",
        None,
        "DetectLabels reads S3Object images from moto's S3 state",
    )
)
S3_GET_BUCKET = hooks.register(
    hooks.Hook(
        "moto.s3.models",
        "S3Backend.get_bucket",
        ("self", "bucket_name"),
        "DetectLabels refuses a missing bucket or one in another region",
    )
)
S3_GET_OBJECT = hooks.register(
    hooks.Hook(
        "moto.s3.models",
        "S3Backend.get_object",
        ("self", "bucket_name", "key_name", "version_id", "part_number", "return_delete_marker"),
        "DetectLabels reads the S3Object's key (and version) from moto's S3 state",
    )
)
S3_KEY_SIZE = hooks.register(
    hooks.Hook(
        "moto.s3.models",
        "FakeKey.size",
        None,
        "DetectLabels refuses an S3 object over 15 MB from its size, before reading it",
    )
)
S3_KEY_VALUE = hooks.register(
    hooks.Hook(
        "moto.s3.models",
        "FakeKey.value",
        None,
        "DetectLabels reads the S3 object's bytes to check the image",
    )
)


def install() -> None:
    """Install the Rekognition hooks into moto (idempotent)."""
    responses._original = hooks.patch(DETECT_LABELS, responses.detect_labels)
