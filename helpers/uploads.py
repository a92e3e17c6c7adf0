"""Large images uploaded straight to S3 (notebook 07): the bucket's trigger and the client's two steps.

A client asks the API for a presigned POST (``POST /uploads``), sends the file to S3 with it,
and S3's event notification for ``uploads/`` invokes the upload-receiver, which starts the
pipeline. :func:`ensure_trigger` wires S3 to the function idempotently; :func:`send` is the
client's side, for tests and benchmarks (the notebook shows the same two requests).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import requests

from .workbook import Workbook

PREFIX = "uploads/"
NOTIFICATION_ID = "uploads-to-upload-receiver"


def _wanted(function_arn: str) -> dict[str, Any]:
    return {"LambdaFunctionConfigurations": [{
        "Id": NOTIFICATION_ID, "LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": PREFIX}]}},
    }]}


def _comparable(configurations: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a notification does, whatever the spelling: S3 answers filter names as "Prefix"."""
    return sorted((item.get("Id"), item["LambdaFunctionArn"], tuple(sorted(item["Events"])),
                   tuple(sorted((rule["Name"].lower(), rule["Value"])
                                for rule in item.get("Filter", {}).get("Key", {}).get("FilterRules", []))))
                  for item in configurations)


def _permission_sid(wb: Workbook) -> str:
    return f"{wb.names.bucket}-uploads"


def _has_statement(wb: Workbook, function_arn: str, sid: str) -> bool:
    lam = wb.client("lambda")
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])
    except lam.exceptions.ResourceNotFoundException:  # no resource policy yet
        return False
    return any(statement.get("Sid") == sid for statement in policy.get("Statement", []))


def ensure_trigger(wb: Workbook, function_arn: str) -> bool:
    """S3 invokes ``function_arn`` for each object created under uploads/; True when something changed.

    The function's resource policy lets S3 invoke it for this bucket in this account only
    (the SourceAccount condition: bucket names are global, and a bucket of the same name could
    later belong to someone else); it comes first, as S3 checks it when the notification is set.
    """
    changed = False
    sid = _permission_sid(wb)
    if not _has_statement(wb, function_arn, sid):
        wb.client("lambda").add_permission(FunctionName=function_arn, StatementId=sid,
                                           Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                                           SourceArn=wb.names.bucket_arn, SourceAccount=wb.names.account_id)
        changed = True
    s3 = wb.client("s3")
    current = s3.get_bucket_notification_configuration(Bucket=wb.names.bucket)
    wanted = _wanted(function_arn)
    if _comparable(current.get("LambdaFunctionConfigurations", [])) != _comparable(
            wanted["LambdaFunctionConfigurations"]):
        s3.put_bucket_notification_configuration(Bucket=wb.names.bucket, NotificationConfiguration=wanted)
        changed = True
    return changed


def trigger(wb: Workbook) -> list[str]:
    """What invokes what, one line each, as a learner checks it."""
    configuration = wb.client("s3").get_bucket_notification_configuration(Bucket=wb.names.bucket)
    lines = []
    for item in configuration.get("LambdaFunctionConfigurations", []):
        rules = item.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        where = ", ".join(f"{rule['Name'].lower()} {rule['Value']}" for rule in rules) or "every key"
        lines.append(f"{', '.join(item['Events'])} ({where}) -> {item['LambdaFunctionArn'].rsplit(':', 1)[1]}")
    return lines


def left(wb: Workbook) -> list[str]:
    """The keys under uploads/: uploads the receiver has not handled (yet)."""
    pages = wb.client("s3").get_paginator("list_objects_v2").paginate(Bucket=wb.names.bucket, Prefix=PREFIX)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def wait_until_empty(wb: Workbook, timeout: float = 60, interval: float = 0.5) -> list[str]:
    """Wait until nothing is left under uploads/ (S3 invokes the receiver after answering the client).

    Returns what is left: [] once empty, or the keys still there when ``timeout`` runs out.
    """
    deadline = time.monotonic() + timeout
    while True:
        keys = left(wb)
        if not keys or time.monotonic() >= deadline:
            return keys
        time.sleep(interval)


def s3_error(response: requests.Response) -> str:
    """``STATUS Code: Message`` of S3's XML error document, to show a refused upload in one line."""
    try:
        error = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return f"{response.status_code} (no S3 error document) {response.text[:200]}"
    return f"{response.status_code} {error.findtext('Code')}: {error.findtext('Message')}"


@dataclass(frozen=True)
class Sent:
    """The two answers of an upload: the API's grant and S3's."""

    id: str  # the SHA-256 of the bytes: where GET /images/{id} finds the result
    grant_status: int
    grant: dict[str, Any]
    s3_status: int | None = None  # None when the API refused to grant an upload
    s3_answer: str = ""

    @property
    def ok(self) -> bool:
        return self.grant_status == 201 and self.s3_status in (200, 201, 204)


def send(api_url: str, data: bytes, content_type: str, *, size: int | None = None, filename: str = "image",
         timeout: float = 60) -> Sent:
    """Ask ``api_url`` for a presigned POST for ``data``, then upload with it (``size``: what to declare)."""
    image_id = hashlib.sha256(data).hexdigest()
    granted = requests.post(f"{api_url}/uploads", json={"content_type": content_type,
                                                        "size": len(data) if size is None else size},
                            timeout=timeout)
    grant = granted.json()
    if granted.status_code != 201:
        return Sent(image_id, granted.status_code, grant)
    uploaded = requests.post(grant["url"], data=grant["fields"], files={"file": (filename, data, content_type)},
                             timeout=timeout)
    return Sent(image_id, granted.status_code, grant, uploaded.status_code, uploaded.text)
