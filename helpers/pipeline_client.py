"""A client of the pipeline's REST API: wait until it answers, wait for images, tabulate.

``helpers.api`` builds the API; this module calls it as a client would. Notebooks 05 and 07
use :func:`wait_until_ready` (a new API answers through the receiver) and :func:`wait_for`
(one image's final record); the rest is what notebook 06 does with a folder of images:

- :func:`submit_all` POSTs each file to ``{url}/images`` with the ``Content-Type`` its name
  suggests (as a naive client would: a ``.png`` that is not a PNG is sent as ``image/png``,
  and the API has to notice) and keeps every answer, accepted or not, as a :class:`Submission`;
- :func:`wait_all` waits for every accepted image's record, within one overall time limit;
- :func:`results_table` shows one row per file: id prefix, file, status, top labels or error;
- :func:`per_image` counts, for each image, its objects under ``images/``, its records and
  its executions (one of each: the pipeline's contract).

``session`` parameters take any object with ``requests.Session``'s ``get``/``post``, which
is how the tests put a fake API behind it.
"""

from __future__ import annotations

import html
import json
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from .workbook import Workbook

TOP_LABELS = 3
_ACCOUNT_ID = re.compile(r"\b\d{12}\b")
ID_CHARS = 12  # enough to tell images apart in a table; the full id is 64 hex characters
FINAL = ("SUCCEEDED", "FAILED")
NEVER_SENT = "0" * 64  # a well-formed id no image has
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Submission:
    """The API's answer to one POST: the id on 202, the error code and message otherwise."""

    file: str  # the file's name only: a path would show the learner's machine
    status_code: int
    id: str | None = None
    status: str | None = None  # the record's status when the API answered ("PROCESSING", ...)
    error: str | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status_code == 202 and self.id is not None

    def __str__(self) -> str:
        if self.accepted:
            return f"{self.file}: {self.status_code} {self.status}, id {self.id[:ID_CHARS]}…"
        return f"{self.file}: {self.status_code} {self.error}: {self.message}"


def content_type(path: str | Path) -> str:
    """The Content-Type a client would send for this file name (image/png, image/jpeg, image/gif...)."""
    guessed, _ = mimetypes.guess_type(Path(path).name)
    return guessed or "application/octet-stream"


def submit(url: str, path: str | Path, session: Any = None) -> Submission:
    """POST one file's bytes to ``{url}/images``."""
    path = Path(path)
    http = session or requests.Session()
    response = http.post(f"{url}/images", data=path.read_bytes(), headers={"Content-Type": content_type(path)},
                         timeout=60)
    try:
        body = response.json()
    except ValueError:  # not JSON: an HTML error page, a proxy's answer
        body = {"error": "NotJson", "message": response.text[:200]}
    if not isinstance(body, dict):
        body = {"error": "UnexpectedBody", "message": str(body)[:200]}
    if response.status_code == 202:
        return Submission(path.name, 202, id=body.get("id"), status=body.get("status"))
    return Submission(path.name, response.status_code, error=body.get("error") or body.get("message", "Error"),
                      message=body.get("message"))


def submit_all(url: str, paths: Iterable[str | Path], session: Any = None) -> list[Submission]:
    """POST every file, one after the other; never raises for a refused file (that is an answer)."""
    http = session or requests.Session()
    return [submit(url, path, http) for path in paths]


def wait_until_ready(url: str, timeout: float = 120, interval: float = 2,
                     session: Any = None) -> None:
    """Return once the API answers through the receiver: GET of an id never sent gives its 404.

    On AWS a new API's host name (DNS), deployment and Lambda permission take a few seconds
    to reach every server; until then the answer is a connection error or API Gateway's own
    403/500 (``{"message": ...}``, not the receiver's ``{"error": ...}``). Locally it is ready at once.
    """
    http = session or requests.Session()
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = http.get(f"{url}/images/{NEVER_SENT}", timeout=30)
            if answer.status_code == 404 and answer.json().get("error") == "NotFound":
                return
            last = f"{answer.status_code} {answer.text[:200]}"
        except (requests.ConnectionError, requests.Timeout, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the API at {url} does not answer through the api-receiver after {timeout} s; "
                               f"last answer: {last}")
        time.sleep(interval)


def wait_for(url: str, image_id: str, timeout: float = 60, interval: float = 0.5,
             session: Any = None, *, uploaded: bool = False,
             clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """GET ``{url}/images/{image_id}`` until its status is final; returns the record.

    Raises TimeoutError (with the last status) when it is still PROCESSING after ``timeout``
    seconds, and RuntimeError for any answer but 200 (a 404 means the id was never submitted).
    ``uploaded=True``: the image went straight to S3 (07), whose event reaches the
    upload-receiver only after S3 has answered the client, so 404 means "not yet" until the
    time is up. ``clock`` and ``sleep`` measure and spend the time (a test passes a fake clock).
    """
    http = session or requests.Session()
    deadline = clock() + timeout
    while True:
        response = http.get(f"{url}/images/{image_id}", timeout=30)
        waiting = uploaded and response.status_code == 404 and clock() < deadline
        if response.status_code != 200 and not waiting:
            raise RuntimeError(f"GET /images/{image_id} answered {response.status_code}: {response.text}")
        record = response.json() if not waiting else {"status": "not recorded yet"}
        if record.get("status") in FINAL:
            return record
        if clock() >= deadline:
            raise TimeoutError(f"image {image_id[:12]}… is still {record.get('status')} after {timeout} s: "
                               "look at its execution (notebook 04 shows how)")
        sleep(interval)


def wait_all(url: str, ids: Iterable[str], timeout: float = 120, *, interval: float = 0.5,
             session: Any = None, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """The final record (SUCCEEDED or FAILED) of each id, in order, within ``timeout`` seconds overall.

    The images are processed concurrently; waiting for them one by one costs no more than
    waiting for the slowest. Raises TimeoutError naming how many finished and which did not.
    Repeated ids are fetched once. ``clock`` and ``sleep`` as in :func:`wait_for`.
    """
    http = session or requests.Session()
    wanted = list(dict.fromkeys(ids))
    deadline = clock() + timeout
    records: dict[str, dict[str, Any]] = {}
    for image_id in wanted:
        try:
            records[image_id] = wait_for(url, image_id, timeout=max(0.0, deadline - clock()),
                                         interval=interval, session=http, clock=clock, sleep=sleep)
        except TimeoutError:
            pending = [i[:ID_CHARS] + "…" for i in wanted if i not in records]
            raise TimeoutError(f"{len(records)} of {len(wanted)} images finished within {timeout} s; "
                               f"still processing: {', '.join(pending)}. Look at their executions "
                               "(notebook 04 shows how) or wait longer.") from None
    return [records[image_id] for image_id in wanted]


class ResultsTable:
    """One row per file: id prefix, file, status, and top labels (or the error). Text and HTML."""

    columns = ("id", "file", "status", "labels or error")

    def __init__(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        self.rows = list(rows)

    def __repr__(self) -> str:
        if not self.rows:
            return "no results"
        widths = [max(len(row[i]) for row in [self.columns, *self.rows]) for i in range(3)]
        a, b, c = widths
        lines = [f"{i:<{a}}  {f:<{b}}  {s:<{c}}  {d}" for i, f, s, d in [self.columns, *self.rows]]
        return "\n".join(line.rstrip() for line in lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def results_table(submissions: Sequence[Submission], records: Iterable[Mapping[str, Any]] = ()) -> ResultsTable:
    """Join submissions with the records wait_all returned (by id)."""
    by_id = {record["id"]: record for record in records}
    rows = []
    for sub in submissions:
        record = by_id.get(sub.id or "")
        if not sub.accepted:
            rows.append(("—", sub.file, f"{sub.status_code} {sub.error}", sub.message or ""))
        elif record is None:
            rows.append((sub.id[:ID_CHARS], sub.file, sub.status or "", ""))
        else:
            rows.append((sub.id[:ID_CHARS], sub.file, str(record.get("status")), _detail(record)))
    return ResultsTable(rows)


def _detail(record: Mapping[str, Any]) -> str:
    labels = record.get("labels") or []
    if labels:
        return ", ".join(f"{label['name']} {float(label['confidence']):.1f}%" for label in labels[:TOP_LABELS])
    return error_message(record)


def error_message(record: Mapping[str, Any], max_chars: int = 100) -> str:
    """A FAILED record's error as "Error: message", short.

    The cause of a Lambda task's failure is the function's error document as JSON
    (errorMessage, errorType, stackTrace); only its message is shown: the stack trace holds
    file paths, and is in the function's log anyway. A 12-digit account id (in a bucket's
    name, an ARN) is shown as ``<account>``, on both targets alike.
    """
    error = record.get("error") or {}
    if not error:
        return ""
    cause = str(error.get("Cause") or "")
    try:
        document = json.loads(cause)
        cause = str(document.get("errorMessage", cause)) if isinstance(document, dict) else cause
    except ValueError:
        pass
    text = f"{error.get('Error', 'Error')}: {cause}" if cause else str(error.get("Error", "Error"))
    text = _ACCOUNT_ID.sub("<account>", text)  # messages name the bucket, whose name holds the account id
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def per_image(wb: Workbook, ids: Iterable[str] | Mapping[str, str]) -> PerImage:
    """For each id: how many objects under images/, records and executions it has (1, 1, 1 expected).

    ``ids`` may map each id to a file name, shown in the printed table. One listing per
    service, not one call per image: images/ in the bucket, the executions of the state
    machine, and a batch read of the table.
    """
    wanted = list(dict.fromkeys(ids))
    files = dict(ids) if isinstance(ids, Mapping) else {}
    objects: Counter[str] = Counter()
    for page in wb.client("s3").get_paginator("list_objects_v2").paginate(Bucket=wb.names.bucket, Prefix="images/"):
        for item in page.get("Contents", []):
            objects[item["Key"].removeprefix("images/").split(".", 1)[0]] += 1
    executions: Counter[str] = Counter()
    for page in wb.client("stepfunctions").get_paginator("list_executions").paginate(
            stateMachineArn=wb.names.state_machine_arn):
        executions.update(execution["name"] for execution in page["executions"])
    records: Counter[str] = Counter()
    ddb = wb.client("dynamodb")
    for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys at most
        request = {wb.names.table: {"Keys": [{"id": {"S": i}} for i in wanted[start:start + 100]],
                                    "ProjectionExpression": "id", "ConsistentRead": True}}
        while request:
            answer = ddb.batch_get_item(RequestItems=request)
            records.update(item["id"]["S"] for item in answer["Responses"].get(wb.names.table, []))
            request = answer.get("UnprocessedKeys") or {}
    result = PerImage([(i, objects[i], records[i], executions[i]) for i in wanted])
    result.files = files
    return result


class PerImage(list):
    """(id, objects under images/, records, executions) per image; a table when printed."""

    files: dict[str, str] = {}  # id -> file name, for the printout

    def __repr__(self) -> str:
        if not self:
            return "no images"
        width = max([len("file"), *(len(self.files.get(row[0], "")) for row in self)])
        lines = [f"{'id':<{ID_CHARS}}  {'file':<{width}}  images/ objects  records  executions"]
        lines += [f"{i[:ID_CHARS]}  {self.files.get(i, ''):<{width}}  {o:>15}  {r:>7}  {e:>10}" for i, o, r, e in self]
        return "\n".join(lines)
