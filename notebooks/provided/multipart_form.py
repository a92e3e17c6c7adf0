"""multipart_form: the parts of a multipart/form-data body (RFC 7578), standard library only.

parse(body, content_type) returns each part's field name, file name, Content-Type and bytes,
in the order sent, or raises FormError (a 4xx status, a code and a message) when the body
is not a whole multipart/form-data document. Part bytes are kept exactly as sent: nothing
is decoded, stripped or converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

MAX_PARTS = 10  # images per request: each part becomes an execution, and all must fit one 6 MB event
# A part's header block, and the request's Content-Type: email's parser is quadratic in a header's length.
MAX_HEADER_BYTES = 2048


class FormError(ValueError):
    """The body is not a usable multipart/form-data document: answered with status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Part:
    number: int  # 1 for the first part sent
    name: str  # the form field's name
    filename: str | None
    content_type: str | None  # without parameters, lowercase; None when the part declares none
    data: bytes


def invalid(message: str) -> FormError:
    return FormError(400, "InvalidMultipart", f"{message}; send multipart/form-data with one part per image, "
                                              f"each with its own Content-Type (image/png or image/jpeg)")


def too_long(what: str, size: int) -> FormError:
    return FormError(413, "PartHeadersTooLarge", f"{what} has {size:,} bytes; at most {MAX_HEADER_BYTES:,} are "
                                                 f"accepted (a browser sends a few hundred)")


def boundary(content_type: str) -> bytes:
    """The boundary parameter of a multipart/form-data Content-Type header."""
    if len(content_type) > MAX_HEADER_BYTES:
        raise too_long("the request's Content-Type header", len(content_type))
    header = Message()
    header["content-type"] = content_type
    value = header.get_param("boundary")
    if not isinstance(value, str) or not 1 <= len(value) <= 70:  # RFC 2046: 1 to 70 characters
        raise invalid("the Content-Type multipart/form-data has no boundary parameter (1 to 70 characters)")
    return value.encode("latin-1")


def parse(body: bytes, content_type: str, max_parts: int = MAX_PARTS) -> list[Part]:
    """Every part of ``body``, which must end with its closing delimiter (else it was cut short)."""
    delimiter = b"\r\n--" + boundary(content_type)
    # The first delimiter may open the body, so it may lack the CRLF that precedes the others.
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 2:
        raise invalid("the body has no part: the boundary of the Content-Type header never occurs in it")
    *parts, closing = sections[1:]
    if not closing.startswith(b"--"):
        raise invalid("the body ends before its closing boundary: it is truncated")
    if not parts:
        raise invalid("the body has no part")
    if len(parts) > max_parts:
        raise FormError(413, "TooManyParts", f"the request has {len(parts)} parts; at most {max_parts} images "
                                             f"are accepted per request")
    return [part(number, section) for number, section in enumerate(parts, start=1)]


def part(number: int, section: bytes) -> Part:
    """One part: headers, a blank line, then the bytes up to the next delimiter."""
    section = section.lstrip(b" \t")  # transport padding may follow a delimiter
    if not section.startswith(b"\r\n"):
        raise invalid(f"part {number}: the boundary is followed by other bytes than a line break")
    head, blank, data = section[2:].partition(b"\r\n\r\n")
    if not blank or section[2:].startswith(b"\r\n"):
        raise invalid(f"part {number}: it needs headers (Content-Disposition, Content-Type), then a blank line")
    if len(head) > MAX_HEADER_BYTES:  # refused before any parsing: see MAX_HEADER_BYTES
        raise too_long(f"part {number}: its header block", len(head))
    headers = Message()
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise invalid(f"part {number}: {line[:40]!r} is not a header line")
        headers[name.strip()] = value.strip()
    if headers.get_content_disposition() != "form-data" or not headers.get_param("name", header="content-disposition"):
        raise invalid(f"part {number}: it needs the header Content-Disposition: form-data; name=\"...\"")
    declared = headers.get("content-type")
    return Part(number, headers.get_param("name", header="content-disposition"), headers.get_filename(),
                declared.split(";")[0].strip().lower() if declared else None, data)
