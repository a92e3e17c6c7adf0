"""Where a DetectLabels image comes from: the request's bytes, or moto's own S3 state.

The local cloud runs in one process with moto, so an S3Object is read straight from
moto's S3 backend (no HTTP round trip, no credentials), the way Rekognition reads the
caller's bucket in AWS. The S3 internals used here are listed hooks (``HOOKS`` in
``__init__.py``), so a moto upgrade that moves them stops the server with a clear message.
"""

from __future__ import annotations

from moto.core.exceptions import ServiceException

from . import checks
from .checks import DetectLabelsRequest, S3ObjectRef
from .exceptions import InvalidS3ObjectException

# S3 lives in moto's "aws" partition backend, whatever the region of the bucket.
S3_PARTITION = "aws"


def image_bytes(request: DetectLabelsRequest, account_id: str, region: str) -> bytes:
    """The bytes to analyse: inline as sent, or the S3 object after AWS's S3 checks."""
    if request.image_bytes is not None:
        return request.image_bytes
    assert request.s3_object is not None  # parse_request guarantees exactly one source
    return read_s3_object(request.s3_object, account_id, region)


def read_s3_object(ref: S3ObjectRef, account_id: str, region: str) -> bytes:
    """The object's bytes, or InvalidS3ObjectException as AWS gives for any S3 problem.

    AWS names no culprit: a missing bucket, key or version, a delete marker, or a bucket
    in another region than the Rekognition call all answer the same message.
    """
    from moto.s3.models import s3_backends

    if not ref.bucket or not ref.name:
        raise InvalidS3ObjectException()
    backend = s3_backends[account_id][S3_PARTITION]
    try:
        bucket = backend.get_bucket(ref.bucket)
        key = backend.get_object(ref.bucket, ref.name, version_id=ref.version)
    except ServiceException as exc:  # NoSuchBucket, cross-account AccessDenied, ...
        raise InvalidS3ObjectException() from exc
    # Rekognition only reads buckets in its own region (S3Object docs in the API model).
    if key is None or bucket.region_name != region:
        raise InvalidS3ObjectException()
    # Size from metadata first: an oversized object is refused without reading it.
    checks.check_s3_object_size(key.size)
    return key.value
