"""The form of a POST object upload, read as S3 reads it.

S3's rules (AWS "HTML Forms" and "POST Object" pages): field names are case-insensitive;
the ``file`` field (a file, or plain text content) must be the last one, and every field
after it is ignored; several fields of one name count as one whose value is their values
joined by commas; ``${filename}`` in any field is replaced by the uploaded file's name
without its path (after the last ``/`` or ``\\``), or by nothing when there is none; the
fields and boundaries before the file may take at most 20 KB.

The file's bytes are kept exactly as sent. Parsing uses werkzeug's multipart decoder, the
one moto's own form parsing is built on, so this reads the body as moto does, in pieces:
the fields before the file are held to S3's 20 KB, the file to the limit its policy sets,
and a body over them is not read further (see :func:`read`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from . import exceptions

# "The form data and boundaries (excluding the contents of the file) cannot exceed 20 KB."
MAX_PRE_FILE_BYTES = 20 * 1024
CHUNK = 64 * 1024  # the body is read in pieces of this size, never whole
FILENAME_VARIABLE = "${filename}"


@dataclass
class FilePart:
    name: str  # as the form spells it
    filename: str | None  # None: sent as a text field
    content_type: str | None
    data: bytes
    size: int = -1  # the file's size; set apart from data when the file was not read in full
    truncated: bool = False  # over its limit: ``data`` is empty, ``size`` what it would have been

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.data)

    @property
    def basename(self) -> str:
        """What ``${filename}`` becomes: the name after the last slash or backslash."""
        name = self.filename or ""
        return name.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class PostForm:
    fields: list[tuple[str, str]]  # (name as sent, value) before the file, in order
    file: FilePart | None
    bytes_before_file: int  # the fields, boundaries and the file part's headers
    ignored: list[str] = field(default_factory=list)  # names of the parts after the file

    def names(self) -> list[str]:
        """The fields' names, lower-cased, each once, in the form's order."""
        seen: dict[str, None] = {}
        for name, _ in self.fields:
            seen.setdefault(name.lower(), None)
        return list(seen)

    def raw(self, name: str) -> str | None:
        """The field's value as sent (several fields of the name joined by commas), or None."""
        values = [value for sent, value in self.fields if sent.lower() == name.lower()]
        return ",".join(values) if values else None

    def value(self, name: str) -> str | None:
        """The field's value with ``${filename}`` replaced, or None when the form lacks it."""
        raw = self.raw(name)
        if raw is None:
            return None
        return raw.replace(FILENAME_VARIABLE, self.file.basename if self.file else "")

    def expanded(self) -> dict[str, str]:
        """Every field, by its lower-cased name, with ``${filename}`` replaced."""
        return {name: self.value(name) or "" for name in self.names()}


_FILENAME = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"([^"]*)"|([^;]*))', re.IGNORECASE)


def _filename(event: File) -> str:
    """The file name as the part spells it. werkzeug reads backslashes in a quoted name as
    escapes; S3 reads them as a Windows path's separators."""
    found = _FILENAME.search(event.headers.get("content-disposition", ""))
    if found is None:
        return event.filename
    return found.group(1) if found.group(1) is not None else found.group(2).strip()


def boundary_of(content_type: str) -> bytes | None:
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        return None
    return options["boundary"].encode("latin-1")


def is_multipart(content_type: str) -> bool:
    return parse_options_header(content_type or "")[0] == "multipart/form-data"


def parse(body: bytes, content_type: str) -> PostForm:
    """The form of a body held in memory (see :func:`read`), with no limit on the file."""
    return read(io.BytesIO(body), content_type, len(body))


def read(stream: BinaryIO, content_type: str, content_length: int | None,
         file_limit: Callable[[list[tuple[str, str]]], int] | None = None) -> PostForm:
    """Read the form from ``stream`` in pieces, holding at most the limits S3 sets.

    S3's MalformedPOSTRequest when the body is not multipart/form-data. The fields before the
    file may take 20 KB: beyond that, reading stops with MaxPostPreDataLengthExceededError.
    When the file starts, ``file_limit(fields)`` says how many bytes it may have (the
    policy's content-length-range, or S3's own maximum); a file over it is not read further
    and comes back ``truncated``, its ``size`` what the Content-Length says it would have
    been (or what was seen, when there is none). Parts after the file are read and dropped.
    """
    boundary = boundary_of(content_type)
    if boundary is None:
        raise exceptions.malformed_post()
    decoder = MultipartDecoder(boundary)
    # What the body ends with after the file when the file is the last part.
    closing = len(b"\r\n--" + boundary + b"--\r\n")
    fed = 0
    finished = False

    def feed() -> None:
        nonlocal fed, finished
        want = CHUNK if content_length is None else min(CHUNK, content_length - fed)
        data = stream.read(want) if want > 0 else b""
        if data:
            fed += len(data)
            decoder.receive_data(data)
        else:
            finished = True
            decoder.receive_data(None)

    fields: list[tuple[str, str]] = []
    ignored: list[str] = []
    file: FilePart | None = None
    before_file = 0
    current: Field | File | None = None
    chunks: list[bytes] = []
    held = 0
    limit: int | None = None
    expected: int | None = None  # the file's size if it is the last part, from the Content-Length
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                if finished:  # all of the input, and still no closing boundary
                    raise exceptions.malformed_post()
                if file is None and not _in_file(current) and fed - len(decoder.buffer) > MAX_PRE_FILE_BYTES:
                    raise exceptions.fields_too_large(MAX_PRE_FILE_BYTES)
                feed()
                continue
            if isinstance(event, Preamble):
                continue
            if isinstance(event, Epilogue):
                break
            if isinstance(event, (Field, File)):
                current, chunks, held = event, [], 0
                if file is None and (event.name or "").lower() == "file":
                    before_file = fed - len(decoder.buffer)
                    limit = file_limit(fields) if file_limit is not None else None
                    # werkzeug leaves the blank line's CRLF that ends the part's headers unread.
                    data_start = before_file + (2 if bytes(decoder.buffer[:2]) == b"\r\n" else 0)
                    expected = None if content_length is None else content_length - data_start - closing
                    # Refused from the Content-Length alone, before the file is read (S3 does
                    # the same); the slack lets ignored fields follow a file within its limit.
                    if limit is not None and expected is not None and expected - MAX_PRE_FILE_BYTES > limit:
                        return _truncated(fields, event, before_file, expected)
                continue
            if isinstance(event, Data) and current is not None:
                name = current.name or ""
                keep = file is None  # parts after the file are ignored: never held
                if keep:
                    chunks.append(event.data)
                    held += len(event.data)
                    if name.lower() == "file" and limit is not None and held > limit:
                        return _truncated(fields, current, before_file, max(held, expected or 0))
                if event.more_data:
                    continue
                data = b"".join(chunks)
                chunks = []
                if file is not None:
                    ignored.append(name)
                elif name.lower() == "file":
                    filename = _filename(current) if isinstance(current, File) else None
                    file = FilePart(name, filename, current.headers.get("content-type"), data)
                else:
                    fields.append((name, data.decode("utf-8", "replace")))
                current = None
    except ValueError as exc:  # werkzeug: a part without Content-Disposition, input cut short
        raise exceptions.malformed_post() from exc
    if file is None:
        before_file = fed
    return PostForm(fields, file, before_file, ignored)


def _in_file(current: Field | File | None) -> bool:
    return current is not None and (current.name or "").lower() == "file"


def _truncated(fields: list[tuple[str, str]], part: Field | File, before_file: int, size: int) -> PostForm:
    """The form of a file over its limit: its bytes are not kept, its size is what it would be."""
    filename = _filename(part) if isinstance(part, File) else None
    file = FilePart(part.name or "", filename, part.headers.get("content-type"), b"", size=size, truncated=True)
    return PostForm(fields, file, before_file)
