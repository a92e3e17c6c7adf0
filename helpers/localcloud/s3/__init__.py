"""S3: browser-style POST object uploads held to their policy.

moto 5.2.5 keeps S3's state. What it lacks, added here:

- **POST object policies.** moto stores a presigned POST upload without reading its policy.
  The front door checks the form first (``post.py`` with ``form.py`` and ``policy.py``):
  expiry, every condition, fields no condition names, the file's size, and answers a
  refused upload with S3's own XML error and status, so nothing is stored and no
  notification fires. An accepted upload is stored by the hook in ``responses.py``: the
  exact bytes, the form's Content-Type and metadata, then the ObjectCreated:Post
  notification, and S3's answer for ``success_action_status``/``success_action_redirect``.

The signature of a POST form is not verified (moto verifies none); see
``docs/fidelity/s3.md`` for what matches AWS and what differs.

Layout (moto-like): ``exceptions.py`` S3's error documents, ``form.py`` the form as S3
reads it, ``policy.py`` the policy's rules (pure), ``post.py`` the front door's check,
``responses.py`` the patched POST handler. Importing this package does not import moto.
"""

from __future__ import annotations

from .. import hooks

POST_HANDLER = hooks.register(hooks.Hook(
    "moto.s3.responses", "S3Response._bucket_response_post", ("self", "request", "bucket_name"),
    "an accepted POST object upload is stored with its Content-Type and metadata before its notification",
))
SUBDOMAIN_BUCKETS = hooks.register(hooks.Hook(
    "moto.s3.responses", "S3Response.subdomain_based_buckets", ("request",),
    "the front door finds a POST upload's bucket in the host (virtual-host style) as moto does",
))
BUCKET_FROM_URL = hooks.register(hooks.Hook(
    "moto.s3.utils", "bucket_name_from_url", ("url",),
    "the front door finds a POST upload's bucket in the host (virtual-host style) as moto does",
))
S3_BACKENDS = hooks.register(hooks.Hook(
    "moto.s3.models", "s3_backends", None,
    "the front door leaves a POST to a missing bucket to moto",
))
PUT_OBJECT = hooks.register(hooks.Hook(
    "moto.s3.models", "S3Backend.put_object",
    ("self", "bucket_name", "key_name", "value", "storage", "etag", "multipart", "encryption", "kms_key_id",
     "bucket_key_enabled", "lock_mode", "lock_legal_status", "lock_until", "checksum_value", "request_method",
     "disable_notification"),
    "a POST upload is stored without moto's notification, which is sent once the metadata is set",
))
SEND_EVENT = hooks.register(hooks.Hook(
    "moto.s3.notifications", "send_event", ("account_id", "event_name", "bucket", "key"),
    "POST uploads notify ObjectCreated:Post, lifecycle expiry LifecycleExpiration:*",
))
METADATA_FROM_FIELDS = hooks.register(hooks.Hook(
    "moto.s3.utils", "metadata_from_headers", ("headers",),
    "a POST upload's Content-Type, REST headers and x-amz-meta-* fields become the object's metadata",
))
CANNED_ACL = hooks.register(hooks.Hook(
    "moto.s3.models", "get_canned_acl", ("acl",), "a POST upload's acl field sets the object's ACL",
))
def install() -> None:
    """Install the S3 hooks into moto (idempotent)."""
    from . import responses

    responses._original = hooks.patch(POST_HANDLER, responses.bucket_response_post)
