"""The form of a POST object upload, read as S3 reads it.

S3's rules (AWS "HTML Forms" and "POST Object" pages): field names are case-insensitive;
the ``file`` field (a file, or plain text content) must be the last one, and every field
after it is ignored; several fields of one name count as one whose value is their values
joined by commas; ``${filename}`` in any field is replaced by the uploaded file's name
without its path (after the last ``/`` or ``\\``), or by nothing when there is none; the
fields and boundaries before the file may take at most 20 KB.

The file's bytes are kept exactly as sent. Parsing uses werkzeug's multipart decoder, the
one moto's own form parsing is built on, so this reads the body as moto does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from . import exceptions

# "The form data and boundaries (excluding the contents of the file) cannot exceed 20 KB."
MAX_PRE_FILE_BYTES = 20 * 1024
FILENAME_VARIABLE = "${filename}"


@dataclass
class FilePart:
    name: str  # as the form spells it
    filename: str | None  # None: sent as a text field
    content_type: str | None
    data: bytes

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
    """The form, or S3's MalformedPOSTRequest when the body is not multipart/form-data."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise exceptions.malformed_post()
    decoder = MultipartDecoder(boundary)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields: list[tuple[str, str]] = []
    ignored: list[str] = []
    file: FilePart | None = None
    before_file = 0
    current: Field | File | None = None
    chunks: list[bytes] = []
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):  # all of the input, and still no closing boundary
                raise exceptions.malformed_post()
            if isinstance(event, Preamble):
                continue
            if isinstance(event, Epilogue):
                break
            if isinstance(event, (Field, File)):
                current, chunks = event, []
                if file is None and (event.name or "").lower() == "file":
                    before_file = len(body) - len(decoder.buffer)
                continue
            if isinstance(event, Data) and current is not None:
                chunks.append(event.data)
                if event.more_data:
                    continue
                data = b"".join(chunks)
                name = current.name or ""
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
        before_file = len(body)
    return PostForm(fields, file, before_file, ignored)
