"""Lifecycle expiry on demand: apply every bucket's lifecycle rules as if the clock were N days later.

moto 5.2.5 stores lifecycle configurations and never acts on them. Waiting days for a rule
to fire is no way to learn it, so the local cloud applies them when asked, at a moment of
the caller's choosing: now plus ``days``. It does what S3 does at that moment, for every
enabled rule:

- ``Expiration`` with ``Days``: the current version of each object the rule's filter
  selects expires once ``LastModified + Days``, rounded up to the next midnight UTC, has
  passed (S3's documented computation: an object uploaded at 10:00 UTC on day D under a
  1-day rule expires at 00:00 UTC on D+2). With ``Date``: every selected object expires once
  that date has passed. In a bucket without versioning the object is deleted; in a
  versioned one a delete marker is placed. The bucket's notification configuration is
  told ``LifecycleExpiration:Delete`` (or ``:DeleteMarkerCreated``), as S3 tells it,
  not ``ObjectRemoved:*``.
- ``AbortIncompleteMultipartUpload`` with ``DaysAfterInitiation``: multipart uploads started
  that long ago (same rounding) are aborted. Only uploads started after the local cloud
  did are known: moto keeps no start time, a hook records it.
- Filters: the rule's ``Prefix`` (top level or in ``Filter``), ``Tag`` and ``And``
  (prefix and tags). Rules with ``Status`` ``Disabled`` are skipped.

Not done: transitions (there are no storage classes to move to), noncurrent-version
expiry, expired delete markers, object size filters (moto does not keep them).

Server side: :func:`apply` (called by ``POST /_localcloud/s3/lifecycle?days=N[&bucket=B]``).
Client side (no moto): :func:`run` returns the whole report, :func:`expire` the objects
that expired::

    from localcloud import s3 as local_s3
    local_s3.expire(endpoint, days=2)   # [{"bucket": ..., "key": ..., "rule": ..., ...}]

Shell: ``python -m localcloud lifecycle run --days 2``.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

log = logging.getLogger("localcloud.s3")

ADMIN_PATH = "/_localcloud/s3/lifecycle"
INITIATED_ATTRIBUTE = "localcloud_initiated"  # set on moto's FakeMultipart by a hook
MAX_DAYS = 36500  # a century: beyond that datetime arithmetic is not the point


class LifecycleError(ValueError):
    """A lifecycle run that cannot be made: the message says why."""


# --- S3's arithmetic ------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def due(start: datetime, days: int) -> datetime:
    """When an object created at ``start`` expires under a ``days`` rule: start plus the days,
    rounded up to the next midnight UTC (a moment already at midnight stays)."""
    moment = _utc(start) + timedelta(days=days)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def _selection(rule: Any) -> tuple[str, dict[str, str]]:
    """(prefix, tags) that the rule's filter requires; ("", {}) selects everything."""
    lc_filter = rule.filter
    if lc_filter is None:
        return rule.prefix or "", {}
    if lc_filter.and_filter is not None:
        return lc_filter.and_filter.prefix or "", dict(lc_filter.and_filter.tags)
    if lc_filter.tag_key:
        return "", {lc_filter.tag_key: lc_filter.tag_value or ""}
    return lc_filter.prefix or "", {}


def _tags(backend: Any, key: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in backend.get_object_tagging(key).get("Tags", [])}


def _is_object(version: Any) -> bool:
    return version is not None and type(version).__name__ == "FakeKey"


# --- server side ------------------------------------------------------------------------------


def _expire_objects(backend: Any, bucket: Any, rule: Any, as_of: datetime) -> list[dict[str, Any]]:
    from moto.s3 import notifications

    days = int(rule.expiration_days) if rule.expiration_days not in (None, "") else None
    date = _utc(datetime.fromisoformat(rule.expiration_date)) if rule.expiration_date else None
    if days is None and date is None:
        return []
    prefix, tags = _selection(rule)
    expired = []
    for name in list(bucket.keys.keys()):
        key = bucket.keys.get(name)
        if not _is_object(key) or not name.startswith(prefix):
            continue
        if tags and any(_tags(backend, key).get(k) != v for k, v in tags.items()):
            continue
        expires_at = due(key.last_modified, days) if days is not None else date
        if as_of < expires_at:
            continue
        # moto computes a key's ETag on first read and keeps it: read it now, before the bytes go,
        # so the expiry notification below still has it.
        _ = key.etag
        if bucket.is_versioned:
            backend.delete_object(bucket.name, name)
            action = "delete marker"
            event = notifications.S3NotificationEvent.LIFECYCLE_EXPIRATION_DELETE_MARKER_CREATED_EVENT
        else:
            bucket.keys.pop(name)
            action, event = "deleted", notifications.S3NotificationEvent.LIFECYCLEEXPIRATION_DELETE_EVENT
        notifications.send_event(backend.account_id, event, bucket, key)
        entry = {"bucket": bucket.name, "key": name, "rule": rule.id, "action": action,
                 "last_modified": _utc(key.last_modified).isoformat(), "expired_at": expires_at.isoformat()}
        log.info("lifecycle: %s/%s expired by rule %s (%s)", bucket.name, name, rule.id, action)
        expired.append(entry)
    return expired


def _abort_uploads(backend: Any, bucket: Any, rule: Any, as_of: datetime) -> list[dict[str, Any]]:
    if rule.aimu_days in (None, ""):
        return []
    prefix, tags = _selection(rule)
    if tags:  # S3 refuses AbortIncompleteMultipartUpload in a rule that filters on tags
        return []
    aborted = []
    for upload in list(bucket.multiparts.values()):
        initiated = getattr(upload, INITIATED_ATTRIBUTE, None)
        if initiated is None or not upload.key_name.startswith(prefix):
            continue
        if as_of < due(initiated, int(rule.aimu_days)):
            continue
        backend.abort_multipart_upload(bucket.name, upload.id)
        log.info("lifecycle: upload %s of %s/%s aborted by rule %s", upload.id, bucket.name, upload.key_name, rule.id)
        aborted.append({"bucket": bucket.name, "key": upload.key_name, "upload_id": upload.id, "rule": rule.id,
                        "initiated": _utc(initiated).isoformat()})
    return aborted


def apply(days: float, *, bucket: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Apply every enabled lifecycle rule (of ``bucket`` only, if given) as of ``now + days``."""
    from moto.s3.models import s3_backends

    now = _utc(now or datetime.now(timezone.utc))
    as_of = now + timedelta(days=days)
    report: dict[str, Any] = {"days": days, "now": now.isoformat(), "as_of": as_of.isoformat(),
                              "expired": [], "aborted_uploads": []}
    for account_id in list(s3_backends.keys()):
        backend = dict.get(s3_backends[account_id], "aws")
        if backend is None:
            continue
        for each in list(backend.buckets.values()):
            if bucket is not None and each.name != bucket:
                continue
            for rule in list(each.rules):
                if rule.status != "Enabled":
                    continue
                report["expired"] += _expire_objects(backend, each, rule, as_of)
                report["aborted_uploads"] += _abort_uploads(backend, each, rule, as_of)
    return report


def parse_days(value: Any) -> float:
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise LifecycleError(f"days must be a number of days, e.g. days=1 (got {value!r})") from None
    if not math.isfinite(days) or days < 0 or days > MAX_DAYS:
        raise LifecycleError(f"days must be between 0 and {MAX_DAYS} (got {value!r})")
    return days


def admin(method: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    """(status, JSON document) for a request to /_localcloud/s3/lifecycle."""
    if method != "POST":
        return 405, {"error": "MethodNotAllowed",
                     "message": f"{method} {ADMIN_PATH}: use POST {ADMIN_PATH}?days=N[&bucket=NAME]"}
    try:
        days = parse_days(query.get("days", [None])[0])
    except LifecycleError as exc:
        return 400, {"error": "InvalidDays", "message": str(exc)}
    return 200, apply(days, bucket=query.get("bucket", [None])[0])


# --- client side ------------------------------------------------------------------------------


def run(endpoint: str, *, days: float, bucket: str | None = None) -> dict[str, Any]:
    """Apply the lifecycle rules of the local cloud at ``endpoint`` as of ``days`` from now;
    returns the report: ``expired`` objects and ``aborted_uploads``, each with bucket, key and rule."""
    query = {"days": repr(float(days)) if not float(days).is_integer() else str(int(days))}
    if bucket is not None:
        query["bucket"] = bucket
    from ..auth import client

    request = client.signed_request(endpoint, "POST", f"{ADMIN_PATH}?{urllib.parse.urlencode(query)}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise LifecycleError(json.loads(exc.read()).get("message", str(exc))) from None
        raise


def expire(endpoint: str, days: float = 1, *, bucket: str | None = None) -> list[dict[str, Any]]:
    """The objects that expire when the lifecycle rules are applied as of ``days`` from now
    (they are deleted): a list of {"bucket", "key", "rule", "action", ...}."""
    return run(endpoint, days=days, bucket=bucket)["expired"]
