"""S3: browser-style POST object uploads held to their policy, and lifecycle expiry on demand.

moto 5.2.5 keeps S3's state. What it lacks, added here:

- **POST object policies.** moto stores a presigned POST upload without reading its policy.
  The front door checks the form first (``post.py`` with ``form.py`` and ``policy.py``):
  expiry, every condition, fields no condition names, the file's size, and answers a
  refused upload with S3's own XML error and status, so nothing is stored and no
  notification fires. An accepted upload is stored by the hook in ``responses.py``: the
  exact bytes, the form's Content-Type and metadata, then the ObjectCreated:Post
  notification, and S3's answer for ``success_action_status``/``success_action_redirect``.
- **Lifecycle expiry.** moto stores lifecycle rules and never applies them. ``lifecycle.py``
  applies them on demand as if the clock were N days later:
  ``POST /_localcloud/s3/lifecycle?days=N``, ``python -m localcloud lifecycle run
  --days N``, or :func:`expire`.

The signature of a POST form is not verified (moto verifies none); see
``docs/localcloud/fidelity/s3.md`` for what matches AWS and what differs.

Layout (moto-like): ``exceptions.py`` S3's error documents, ``form.py`` the form as S3
reads it, ``policy.py`` the policy's rules (pure), ``post.py`` the front door's check,
``responses.py`` the patched POST handler, ``lifecycle.py`` the lifecycle run (server
and client). Importing this package does not import moto: :func:`expire` and :func:`run_lifecycle`
run in notebooks and tests.
"""

from __future__ import annotations

from typing import Any

from ..hooks import Hook, check, wrap
from .lifecycle import LifecycleError, expire
from .lifecycle import run as run_lifecycle

POST_HANDLER = Hook(
    "moto.s3.responses", "S3Response._bucket_response_post", ("self", "request", "bucket_name"),
    "an accepted POST object upload is stored with its Content-Type and metadata before its notification",
)
SUBDOMAIN_BUCKETS = Hook(
    "moto.s3.responses", "S3Response.subdomain_based_buckets", ("request",),
    "the front door finds a POST upload's bucket in the host (virtual-host style) as moto does",
)
BUCKET_FROM_URL = Hook(
    "moto.s3.utils", "bucket_name_from_url", ("url",),
    "the front door finds a POST upload's bucket in the host (virtual-host style) as moto does",
)
S3_BACKENDS = Hook(
    "moto.s3.models", "s3_backends", None,
    "the front door leaves a POST to a missing bucket to moto; lifecycle runs read every bucket",
)
PUT_OBJECT = Hook(
    "moto.s3.models", "S3Backend.put_object",
    ("self", "bucket_name", "key_name", "value", "storage", "etag", "multipart", "encryption", "kms_key_id",
     "bucket_key_enabled", "lock_mode", "lock_legal_status", "lock_until", "checksum_value", "request_method",
     "disable_notification"),
    "a POST upload is stored without moto's notification, which is sent once the metadata is set",
)
SEND_EVENT = Hook(
    "moto.s3.notifications", "send_event", ("account_id", "event_name", "bucket", "key"),
    "POST uploads notify ObjectCreated:Post, lifecycle expiry LifecycleExpiration:*",
)
METADATA_FROM_FIELDS = Hook(
    "moto.s3.utils", "metadata_from_headers", ("headers",),
    "a POST upload's Content-Type, REST headers and x-amz-meta-* fields become the object's metadata",
)
CANNED_ACL = Hook(
    "moto.s3.models", "get_canned_acl", ("acl",), "a POST upload's acl field sets the object's ACL",
)
MULTIPART_INIT = Hook(
    "moto.s3.models", "FakeMultipart.__init__",
    ("self", "key_name", "metadata", "account_id", "region_name", "storage", "tags", "acl", "sse_encryption",
     "kms_key_id"),
    "lifecycle's AbortIncompleteMultipartUpload needs the upload's start time, which moto does not keep",
)
LIFECYCLE_RULE = Hook(
    "moto.s3.models", "LifecycleRule.__init__",
    ("self", "rule_id", "prefix", "lc_filter", "status", "expiration_days", "expiration_date", "transitions",
     "expired_object_delete_marker", "nve_noncurrent_days", "noncurrent_version_transitions", "aimu_days"),
    "lifecycle runs read each rule's id, status, filter, expiration and abort days",
)
LIFECYCLE_FILTER = Hook(
    "moto.s3.models", "LifecycleFilter.__init__", ("self", "prefix", "tag", "and_filter"),
    "lifecycle runs select objects by the rule's prefix, tag or And filter",
)
LIFECYCLE_AND_FILTER = Hook(
    "moto.s3.models", "LifecycleAndFilter.__init__", ("self", "prefix", "tags"),
    "lifecycle runs select objects by the And filter's prefix and tags",
)
OBJECT_TAGGING = Hook(
    "moto.s3.models", "S3Backend.get_object_tagging", ("self", "key"),
    "lifecycle rules with tag filters read the object's tags",
)
DELETE_OBJECT = Hook(
    "moto.s3.models", "S3Backend.delete_object", ("self", "bucket_name", "key_name", "version_id", "bypass"),
    "lifecycle expiry places a delete marker in a versioned bucket",
)
INVOKE_FUNCTION = Hook(
    "moto.s3.notifications", "_invoke_awslambda", ("account_id", "event_body", "fn_arn", "region_name"),
    "S3 invokes a function only when the function's resource-based policy lets s3.amazonaws.com do so",
)
ABORT_UPLOAD = Hook(
    "moto.s3.models", "S3Backend.abort_multipart_upload", ("self", "bucket_name", "multipart_id"),
    "lifecycle's AbortIncompleteMultipartUpload aborts old uploads",
)


def _recording_start_time(original: Any) -> Any:
    from moto.core.utils import utcnow

    from .lifecycle import INITIATED_ATTRIBUTE

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        setattr(self, INITIATED_ATTRIBUTE, utcnow())

    return __init__


def _only_when_permitted(original: Any) -> Any:
    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from ..iam.enforce import ENFORCER

        records = event_body.get("Records") or [{}] if isinstance(event_body, dict) else [{}]
        bucket = records[0].get("s3", {}).get("bucket", {}).get("name", "")
        if not ENFORCER.service_may_invoke(fn_arn, "s3.amazonaws.com", source_arn=f"arn:aws:s3:::{bucket}",
                                           source_account=account_id):
            return  # as on AWS: the event is not delivered, and nothing tells the uploader
        original(account_id, event_body, fn_arn, region_name)

    return _invoke_awslambda


def _storing_post_uploads(original: Any) -> Any:
    # responses.py reads forms with werkzeug: imported when the server installs the hooks, not in notebooks.
    from .responses import storing_post_uploads

    return storing_post_uploads(original)


HOOKS = [
    wrap(POST_HANDLER, _storing_post_uploads),
    check(SUBDOMAIN_BUCKETS),
    check(BUCKET_FROM_URL),
    check(S3_BACKENDS),
    check(PUT_OBJECT),
    check(SEND_EVENT),
    check(METADATA_FROM_FIELDS),
    check(CANNED_ACL),
    wrap(MULTIPART_INIT, _recording_start_time),
    check(LIFECYCLE_RULE),
    check(LIFECYCLE_FILTER),
    check(LIFECYCLE_AND_FILTER),
    check(OBJECT_TAGGING),
    check(DELETE_OBJECT),
    wrap(INVOKE_FUNCTION, _only_when_permitted),
    check(ABORT_UPLOAD),
]

__all__ = ["HOOKS", "LifecycleError", "expire", "run_lifecycle"]
