"""S3's error documents for refused POST object uploads, as S3 sends them (rest-xml ``<Error>``)."""

from __future__ import annotations

import base64
import os
import uuid
from xml.sax.saxutils import escape


class S3Error(Exception):
    """An S3 error: HTTP status, code, message, and the extra elements S3 adds for that code
    (``ProposedSize``/``MaxSizeAllowed`` for EntityTooLarge, ``ArgumentName``/``ArgumentValue``
    for InvalidArgument, ...), in the order S3 writes them."""

    def __init__(self, status: int, code: str, message: str, **details: object) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def document(self, request_id: str, host_id: str) -> bytes:
        extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in self.details.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
        ).encode()

    def response(self) -> tuple[str, list[tuple[str, str]], bytes]:
        """(status line, headers, body) as S3 answers the error."""
        request_id = uuid.uuid4().hex[:16].upper()
        host_id = base64.b64encode(os.urandom(48)).decode()
        body = self.document(request_id, host_id)
        reasons = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 411: "Length Required"}
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id), ("x-amz-id-2", host_id),
                   ("Content-Length", str(len(body)))]
        return f"{self.status} {reasons.get(self.status, 'Error')}", headers, body


# --- the errors, with S3's codes, statuses and messages -----------------------------------


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error(403, "AccessDenied", message)


def policy_expired() -> S3Error:
    return access_denied("Invalid according to Policy: Policy expired.")


def condition_failed(condition: str) -> S3Error:
    return access_denied(f"Invalid according to Policy: Policy Condition failed: {condition}")


def extra_input_fields(names: list[str]) -> S3Error:
    return access_denied(f"Invalid according to Policy: Extra input fields: {', '.join(names)}")


def invalid_policy(detail: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {detail}")


def entity_too_large(size: int, maximum: int) -> S3Error:
    return S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                   ProposedSize=size, MaxSizeAllowed=maximum)


def entity_too_small(size: int, minimum: int) -> S3Error:
    return S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                   ProposedSize=size, MinSizeAllowed=minimum)


def missing_field(name: str) -> S3Error:
    # Two spaces after the first sentence, as S3 writes it.
    return S3Error(400, "InvalidArgument",
                   f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the "
                   "order of the fields.", ArgumentName=name, ArgumentValue="")


def no_file() -> S3Error:
    return S3Error(400, "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request.")


def malformed_post() -> S3Error:
    return S3Error(400, "MalformedPOSTRequest",
                   "The body of your POST request is not well-formed multipart/form-data.")


def fields_too_large(limit: int) -> S3Error:
    return S3Error(400, "MaxPostPreDataLengthExceededError",
                   "Your POST request fields preceding the upload file were too large.", MaxPostPreDataLength=limit)
