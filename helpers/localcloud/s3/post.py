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
   the file's exact bytes and the fields from it.

A form without ``policy`` is not checked against any policy (on AWS it is accepted only by a
bucket that lets anyone write). The signature is never verified, as moto verifies none.
A bucket that does not exist is left to moto, which answers NoSuchBucket as S3 does first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from ..wsgi_input import buffer_body
from . import exceptions, form, policy

log = logging.getLogger("localcloud.s3")

FORM_ENVIRON_KEY = "localcloud.s3.post_form"


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
    policy.enforce(decoded, bucket=bucket, fields=post.expanded(), file_size=len(post.file.data), now=now)


def check(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """The front door's check: S3's error response for a refused POST object upload, else None
    (the request goes on to moto, with its form in the environ when it is a POST object upload)."""
    bucket = target_bucket(environ)
    if not bucket or not bucket_exists(bucket):
        return None
    body = buffer_body(environ)
    try:
        post = form.parse(body, environ.get("CONTENT_TYPE", ""))
        verdict(post, bucket, datetime.now(timezone.utc))
    except exceptions.S3Error as error:
        log.info("POST object to bucket %s refused: %s %s: %s", bucket, error.status, error.code, error.message)
        status, headers, document = error.response()
        start_response(status, headers)
        return [document]
    environ[FORM_ENVIRON_KEY] = post
    return None
