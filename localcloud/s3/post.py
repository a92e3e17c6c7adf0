"""The front door's check of browser-style POST object uploads, before moto sees them.

moto 5.2.5 stores a POST object upload without looking at its policy. The front door
(``server.py``) asks :func:`check` about every request first; for a POST to a bucket
(``http://127.0.0.1:PORT/BUCKET``, path style as boto3 makes it with an endpoint URL, or
virtual-host style ``BUCKET.localhost:PORT``) whose body is multipart/form-data, it

1. reads the form as S3 does (``form.py``) and refuses a malformed one, one whose fields
   before the file exceed 20 KB, one without ``key`` or without a file;
2. when the form has a ``policy``: requires one signature version's fields, decodes the
   policy and enforces it (``policy.py``): expiry, fields no condition names, every
   condition. A refused request is answered with S3's XML error and status, and moto
   never sees it, so nothing is stored and no notification fires;
3. hands an accepted form to moto, leaving it in the WSGI environ under
   :data:`FORM_ENVIRON_KEY`, where the storing hook (``responses.py``) takes the key,
   the file's exact bytes and the fields from it (moto gets an empty body: the form is
   all it needs, and the body is not held twice).

The body is read in pieces (``form.read``) and never held whole: a file over the policy's
``content-length-range`` (or, without a policy, over S3's 5 GB for a POST) is refused with
EntityTooLarge as soon as that is known: from the Content-Length when the file starts, or
while reading it. A Content-Length over S3's maximum is refused before anything is read.
So the server holds at most the limit that applies, plus the 20 KB of fields and one piece.

A form without ``policy`` is an anonymous upload, which S3 accepts only into a bucket that
lets anyone write, and no bucket here does: it is refused (AccessDenied) as soon as the file
part starts, before the file is read. The policy's signature is verified afterwards by the
front door (``auth/gate.py``, with the key the form names). A bucket that does not exist is
left to moto, which answers NoSuchBucket as S3 does first.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from . import exceptions, form, policy

log = logging.getLogger("localcloud.s3")

FORM_ENVIRON_KEY = "localcloud.s3.post_form"
# "The maximum allowed size for an object uploaded with POST is 5 GB" (S3's POST documentation).
MAX_POST_OBJECT_BYTES = int(os.environ.get("LOCALCLOUD_S3_POST_MAX_BYTES", str(5 * 1024**3)))
# After a refusal, at most this much of the unread body is read and dropped, so a client that is
# still sending reads S3's answer instead of a reset connection; beyond it the connection closes.
DRAIN_BYTES = 16 * 1024 * 1024


def target_bucket(environ: dict[str, Any]) -> str | None:
    """The bucket a POST object request uploads to, or None when the request is something else.

    The bucket comes from the path, or from the host the way moto reads it for virtual-host
    style (``BUCKET.localhost:4566``); the path must name nothing below the bucket.
    """
    if environ.get("REQUEST_METHOD") != "POST" or not form.is_multipart(environ.get("CONTENT_TYPE", "")):
        return None
    from moto.s3.responses import S3Response
    from moto.s3.utils import bucket_name_from_url
    from werkzeug.wrappers import Request

    path = environ.get("PATH_INFO", "") or "/"
    request = Request(environ)  # headers and URL only: the body stays unread
    if S3Response.subdomain_based_buckets(request):
        return bucket_name_from_url(request.url) if path == "/" else None
    bucket, _, rest = path.lstrip("/").partition("/")
    return unquote(bucket) if bucket and not rest else None


def bucket_exists(name: str) -> bool:
    from moto.s3.models import s3_backends

    for account_id in list(s3_backends.keys()):
        backend = dict.get(s3_backends[account_id], "aws")
        if backend is not None and name in backend.buckets:
            return True
    return False


def verdict(post: form.PostForm, bucket: str, now: datetime) -> None:
    """Raise S3's error for a form S3 would refuse; return for one it would store."""
    if post.bytes_before_file > form.MAX_PRE_FILE_BYTES:
        raise exceptions.fields_too_large(form.MAX_PRE_FILE_BYTES)
    if not post.value("key"):
        raise exceptions.missing_field("key")
    if post.file is None:
        raise exceptions.no_file()
    encoded = post.raw("policy")
    if encoded is None:
        return
    policy.check_signature_fields(post.names())
    decoded = policy.decode(encoded)
    policy.enforce(decoded, bucket=bucket, fields=post.expanded(), file_size=post.file.size, now=now)


def file_limit(fields: list[tuple[str, str]]) -> int:
    """How many bytes the file may have, known once the fields before it are read: the
    policy's content-length-range maximum, capped at S3's maximum for a POST. A policy that
    cannot be read allows no bytes: the form is refused for its policy whatever the file.
    Without a policy the form is refused here (AccessDenied)."""
    encoded = [value for name, value in fields if name.lower() == "policy"]
    if not encoded:
        # Anonymous: refused before the file is read, however large it claims to be.
        raise exceptions.access_denied()
    try:
        decoded = policy.decode(",".join(encoded))
    except exceptions.S3Error:
        return 0
    ranges = [c.maximum for c in decoded.conditions if c.operation == "content-length-range"]
    return min([MAX_POST_OBJECT_BYTES, *ranges])


def _drain(stream: Any, left: int | None) -> None:
    """Read and drop what the client still sends, up to DRAIN_BYTES, a piece at a time."""
    budget = DRAIN_BYTES if left is None else min(left, DRAIN_BYTES)
    while budget > 0:
        piece = stream.read(min(form.CHUNK, budget))
        if not piece:
            return
        budget -= len(piece)


def check(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """The front door's check: S3's error response for a refused POST object upload, else None
    (the request goes on to moto, with its form in the environ when it is a POST object upload)."""
    bucket = target_bucket(environ)
    if not bucket or not bucket_exists(bucket):
        return None
    stream = environ.get("wsgi.input") or io.BytesIO()
    counted = _Counting(stream)
    try:
        length = int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH") else None
    except ValueError:
        length = None
    if length is None and not environ.get("wsgi.input_terminated"):
        length = 0  # no length and no chunked framing: there is no body to read
    try:
        if length is not None and length > MAX_POST_OBJECT_BYTES + form.MAX_PRE_FILE_BYTES:
            raise exceptions.entity_too_large(length, MAX_POST_OBJECT_BYTES)  # before reading a byte
        post = form.read(counted, environ.get("CONTENT_TYPE", ""), length, file_limit)
        verdict(post, bucket, datetime.now(timezone.utc))
        if post.file is not None and post.file.truncated:  # over S3's own maximum, no policy said so
            raise exceptions.entity_too_large(post.file.size, MAX_POST_OBJECT_BYTES)
    except exceptions.S3Error as error:
        log.info("POST object to bucket %s refused: %s %s: %s", bucket, error.status, error.code, error.message)
        _drain(stream, None if length is None else length - counted.read_bytes)
        status, headers, document = error.response()
        start_response(status, headers)
        return [document]
    environ[FORM_ENVIRON_KEY] = post
    # moto stores from the form; it gets no second copy of the body.
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"
    return None


class _Counting:
    """A body stream that counts what is read from it (to drain what is left after a refusal)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.read_bytes += len(data)
        return data


def refuse_unauthorised_signer(environ: dict[str, Any], start_response: Callable[..., Any],
                               post: form.PostForm) -> Iterable[bytes] | None:
    """S3's AccessDenied when whoever signed the form may not s3:PutObject its key.

    A presigned POST acts with its signer's permissions: a role's policy decides what the
    browser may upload, as on AWS.
    """
    from ..iam.enforce import ENFORCER

    principal = environ.get("localcloud.principal")
    bucket = target_bucket(environ)
    if not principal or not bucket:
        return None
    text = ENFORCER.refuse_post_upload(principal, bucket, post.value("key") or "", "")
    if text is None:
        return None
    status, headers, document = exceptions.access_denied(text).response()
    start_response(status, headers)
    return [document]
