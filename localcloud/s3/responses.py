"""Storing an accepted POST object upload as S3 does (the hook on moto's POST handler).

moto 5.2.5's ``S3Response._bucket_response_post`` stores the upload, sends the bucket's
ObjectCreated:Post notification, and only then sets the object's Content-Type and
metadata from the form, so a function the notification starts could read the object
before it has them; it answers ``success_action_status`` 201 with an empty body and any
other value as the status itself, without ETag or Location headers.

This replacement handles the requests the front door read (``post.py`` leaves the form in
the environ): it stores the file's exact bytes under the form's ``key`` (``${filename}``
replaced) through moto's ``put_object``, sets the ACL, Content-Type, the other REST headers
and ``x-amz-meta-*`` metadata, then sends the notification as moto does for a POST
(``ObjectCreated:Post``), and answers as S3 does: ``success_action_redirect`` (or the older
``redirect``) with an http(s) URL: 303 to it with ``bucket``, ``key`` and ``etag`` added;
else ``success_action_status`` 200 (empty), 201 (a ``PostResponse`` XML document) or 204,
the default, also for any other value; ``ETag`` and ``Location`` headers in every case.
Any other POST to a bucket (DeleteObjects, a request that did not pass the front door)
goes to moto's own handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlparse, urlunparse
from xml.sax.saxutils import escape

from .form import PostForm
from .post import FORM_ENVIRON_KEY


def _location(self: Any, request: Any, bucket_name: str, key: str) -> str:
    base = request.host_url.rstrip("/")
    if self.subdomain_based_buckets(request):
        return f"{base}/{quote(key, safe='')}"
    return f"{base}/{quote(bucket_name, safe='')}/{quote(key, safe='')}"


def _redirect(target: str | None, bucket_name: str, key: str, etag: str) -> str | None:
    """The URL to redirect to, or None when there is none S3 could interpret (then it is ignored)."""
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True) + [("bucket", bucket_name), ("key", key), ("etag", etag)]
    return urlunparse(parts._replace(query=urlencode(query)))


def store(self: Any, request: Any, bucket_name: str, post: PostForm) -> tuple[int, dict[str, str], str]:
    from moto.s3 import notifications
    from moto.s3.models import get_canned_acl
    from moto.s3.utils import metadata_from_headers

    assert post.file is not None  # the front door refuses a form without one
    self.data["Action"] = "PutObject"
    self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
    fields = post.expanded()
    key = fields["key"]
    new_key = self.backend.put_object(
        bucket_name, key, post.file.data, storage=fields.get("x-amz-storage-class") or None,
        request_method="POST", disable_notification=True,
    )
    if fields.get("acl"):
        new_key.set_acl(get_canned_acl(fields["acl"]))
    # Content-Type, Cache-Control, ... and x-amz-meta-*, spelled as the form spells them.
    spelled: dict[str, str] = {}
    for name, _ in post.fields:
        if name.lower() not in (seen.lower() for seen in spelled):
            spelled[name] = post.value(name) or ""
    new_key.set_metadata(metadata_from_headers(spelled))
    bucket = self.backend.get_bucket(bucket_name)
    notifications.send_event(
        self.backend.account_id, notifications.S3NotificationEvent.OBJECT_CREATED_POST_EVENT, bucket, new_key
    )

    etag = new_key.etag
    location = _location(self, request, bucket_name, key)
    headers = {"ETag": etag, "Location": location}
    if bucket.is_versioned:
        headers["x-amz-version-id"] = new_key.version_id
    redirect = _redirect(fields.get("success_action_redirect") or fields.get("redirect"), bucket_name, key, etag)
    if redirect:
        return 303, {**headers, "Location": redirect}, ""
    status = fields.get("success_action_status")
    if status == "200":
        return 200, headers, ""
    if status == "201":
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<PostResponse><Location>{escape(location)}</Location><Bucket>{escape(bucket_name)}</Bucket>"
            f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
        )
        return 201, {**headers, "Content-Type": "application/xml"}, document
    return 204, headers, ""


def storing_post_uploads(original: Callable[..., Any]) -> Callable[..., Any]:
    """Replaces ``S3Response._bucket_response_post``; ``original``, moto's, answers every other POST."""

    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        post = request.environ.get(FORM_ENVIRON_KEY)
        if post is None or not request.headers.get("Content-Length"):
            return original(self, request, bucket_name)
        return store(self, request, bucket_name, post)

    return _bucket_response_post
