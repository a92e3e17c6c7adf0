"""The API client (wait_until_ready, wait_for, submit_all, wait_all, results_table) against fake APIs."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import cleanup, storage, workbook
from helpers import pipeline_client as pc

URL = "http://api.test/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"png pixels"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg pixels"
LABELS = [{"name": "Cat", "confidence": 98.14}, {"name": "Animal", "confidence": 97.0},
          {"name": "Pet", "confidence": 90.55}, {"name": "Whiskers", "confidence": 80.0}]


class FakeResponse:
    def __init__(self, status_code: int, body: object) -> None:
        self.status_code = status_code
        self.text = body if isinstance(body, str) else json.dumps(body)

    def json(self):
        return json.loads(self.text)


class FakeApi:
    """POST /images and GET /images/{id} as docs/pipeline.md describes; each image takes ``polls`` GETs."""

    def __init__(self, polls: int = 2, stuck: tuple[bytes, ...] = (), failing: tuple[bytes, ...] = ()) -> None:
        self.polls, self.stuck, self.failing = polls, stuck, failing
        self.records: dict[str, dict] = {}
        self.remaining: dict[str, int] = {}
        self.posts: list[tuple[str, str]] = []
        self.gets = 0

    def post(self, url, data, headers, timeout):
        self.posts.append((url, headers["Content-Type"]))
        assert url == f"{URL}/images"
        if data == b"<html>":
            return FakeResponse(502, "<html>Bad Gateway</html>")
        kind = headers["Content-Type"]
        if kind not in ("image/png", "image/jpeg"):
            return FakeResponse(415, {"error": "UnsupportedMediaType", "message": f"{kind} is not accepted"})
        if not data.startswith(PNG[:8] if kind == "image/png" else JPEG[:3]):
            return FakeResponse(400, {"error": "NotAnImage", "message": f"the bytes are not {kind}"})
        image_id = hashlib.sha256(data).hexdigest()
        if image_id not in self.records:
            self.remaining[image_id] = 10**9 if data in self.stuck else self.polls
            final = {"status": "FAILED", "error": {"Error": "InvalidImageFormatException", "Cause": "bad"}} \
                if data in self.failing else {"status": "SUCCEEDED", "labels": LABELS}
            self.records[image_id] = {"id": image_id, **final}
        status = "PROCESSING" if self.remaining[image_id] else self.records[image_id]["status"]
        return FakeResponse(202, {"id": image_id, "status": status, "href": f"/images/{image_id}"})

    def get(self, url, timeout):
        self.gets += 1
        image_id = url.rsplit("/", 1)[1]
        if image_id not in self.records:
            return FakeResponse(404, {"error": "NotFound", "message": "no such image"})
        if self.remaining[image_id] > 0:
            self.remaining[image_id] -= 1
            return FakeResponse(200, {"id": image_id, "status": "PROCESSING"})
        return FakeResponse(200, self.records[image_id])


@pytest.fixture
def files(tmp_path):
    paths = {"cat.png": PNG, "dog.jpg": JPEG, "drawing.gif": b"GIF89a...", "liar.png": b"just text"}
    for name, data in paths.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / name for name in paths]


def test_content_type_follows_the_file_name():
    assert [pc.content_type(n) for n in ("a.png", "b.JPG", "c.jpeg", "d.gif", "e")] == [
        "image/png", "image/jpeg", "image/jpeg", "image/gif", "application/octet-stream"]


# --- wait_for, against a small HTTP server that plays the API ----------------------------------


class _Records(BaseHTTPRequestHandler):
    answers: dict[str, list[tuple[int, dict]]] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        image_id = self.path.rsplit("/", 1)[-1]
        queue = self.answers.get(image_id, [(404, {"error": "NotFound", "message": "no image"})])
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Records)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Records.answers
    server.shutdown()
    server.server_close()
    _Records.answers.clear()


def test_wait_for_polls_until_the_status_is_final(fake_api):
    url, answers = fake_api
    done = {"id": "a" * 64, "status": "SUCCEEDED", "labels": [{"name": "Cat", "confidence": 98.1}]}
    answers["a" * 64] = [(200, {"id": "a" * 64, "status": "PROCESSING"})] * 2 + [(200, done)]
    assert pc.wait_for(url, "a" * 64, timeout=10, interval=0.01) == done
    answers["b" * 64] = [(200, {"id": "b" * 64, "status": "FAILED", "error": {"Error": "X", "Cause": "y"}})]
    assert pc.wait_for(url, "b" * 64, timeout=10, interval=0.01)["status"] == "FAILED"


def test_wait_for_gives_up_after_the_timeout_and_on_an_error_answer(fake_api):
    url, answers = fake_api
    answers["c" * 64] = [(200, {"id": "c" * 64, "status": "PROCESSING"})]
    with pytest.raises(TimeoutError, match=r"image cccccccccccc… is still PROCESSING after 0.2 s"):
        pc.wait_for(url, "c" * 64, timeout=0.2, interval=0.05)
    with pytest.raises(RuntimeError, match=r"GET /images/dddd\w+ answered 404: .*NotFound"):
        pc.wait_for(url, "d" * 64, timeout=10, interval=0.01)


def test_wait_for_an_upload_takes_404_as_not_yet_until_the_time_is_up(fake_api):
    url, answers = fake_api
    answers["e" * 64] = [(404, {"error": "NotFound"}), (404, {"error": "NotFound"}),
                         (200, {"id": "e" * 64, "status": "PROCESSING"}), (200, {"id": "e" * 64, "status": "FAILED"})]
    assert pc.wait_for(url, "e" * 64, timeout=10, interval=0.01, uploaded=True)["status"] == "FAILED"
    with pytest.raises(RuntimeError, match=r"answered 404"):
        pc.wait_for(url, "f" * 64, timeout=0.2, interval=0.05, uploaded=True)


def test_wait_until_ready_waits_for_the_receivers_own_404(fake_api):
    url, answers = fake_api
    answers[pc.NEVER_SENT] = [(403, {"message": "Forbidden"}), (500, "<html>not JSON</html>"),
                               (404, {"message": "Not Found"}), (404, {"error": "NotFound", "message": "no image"})]
    pc.wait_until_ready(url, timeout=10, interval=0.01)
    assert answers[pc.NEVER_SENT] == [(404, {"error": "NotFound", "message": "no image"})]  # all were asked
    answers[pc.NEVER_SENT] = [(403, {"message": "Missing Authentication Token"})]
    with pytest.raises(TimeoutError, match=r"last answer: 403 .*Missing Authentication Token"):
        pc.wait_until_ready(url, timeout=0.1, interval=0.02)
    with pytest.raises(TimeoutError, match="ConnectionError"):
        pc.wait_until_ready("http://127.0.0.1:9/v1", timeout=0.1, interval=0.02)


def test_submit_all_keeps_every_answer_with_file_names_only(files):
    fake = FakeApi()
    subs = pc.submit_all(URL, files, session=fake)
    assert [s.file for s in subs] == ["cat.png", "dog.jpg", "drawing.gif", "liar.png"]
    assert [s.status_code for s in subs] == [202, 202, 415, 400]
    assert [s.accepted for s in subs] == [True, True, False, False]
    assert subs[0].id == hashlib.sha256(PNG).hexdigest() and subs[0].status == "PROCESSING"
    assert str(subs[2]) == "drawing.gif: 415 UnsupportedMediaType: image/gif is not accepted"
    assert str(subs[0]) == f"cat.png: 202 PROCESSING, id {subs[0].id[:12]}…"
    # the liar is sent as image/png, as its name says: catching it is the API's job
    assert [ct for _, ct in fake.posts] == ["image/png", "image/jpeg", "image/gif", "image/png"]


def test_a_non_json_answer_becomes_a_readable_submission(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(b"<html>")
    sub = pc.submit(URL, path, session=FakeApi())
    assert (sub.status_code, sub.error, sub.accepted) == (502, "NotJson", False)
    assert sub.message == "<html>Bad Gateway</html>"


def test_wait_all_returns_final_records_in_order_once_per_id(files):
    fake = FakeApi(polls=2, failing=(JPEG,))
    subs = pc.submit_all(URL, files, session=fake)
    ids = [s.id for s in subs if s.accepted]
    records = pc.wait_all(URL, [*ids, ids[0]], timeout=5, interval=0, session=fake)
    assert [r["id"] for r in records] == ids
    assert [r["status"] for r in records] == ["SUCCEEDED", "FAILED"]
    assert fake.gets == 6  # two PROCESSING answers then the final one, per image


class FakeClock:
    """Time that passes only when the code under test sleeps: no test waits, none depends on the machine."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_all_gives_up_after_the_timeout_and_names_what_is_pending(files):
    fake, clock = FakeApi(polls=2, stuck=(JPEG,)), FakeClock()
    ids = [s.id for s in pc.submit_all(URL, files[:2], session=fake)]
    with pytest.raises(TimeoutError) as timed_out:
        pc.wait_all(URL, ids, timeout=1, interval=0.25, session=fake, clock=clock, sleep=clock.sleep)
    assert f"1 of 2 images finished within 1 s; still processing: {ids[1][:12]}…" in str(timed_out.value)
    # The first image takes the polls at 0, 0.25 and 0.5; the second gets what is left of the
    # one time limit (0.5, 0.75, 1.0), not a time limit of its own.
    assert fake.gets == 6
    assert clock.sleeps == [0.25] * 4 and clock.now == 1


def test_wait_all_reports_an_unknown_id():
    with pytest.raises(RuntimeError, match="answered 404"):
        pc.wait_all(URL, ["0" * 64], timeout=1, interval=0, session=FakeApi())


def test_results_table_joins_submissions_and_records(files):
    fake = FakeApi(polls=0, failing=(JPEG,))
    subs = pc.submit_all(URL, files, session=fake)
    records = pc.wait_all(URL, [s.id for s in subs if s.accepted], timeout=5, interval=0, session=fake)
    table = pc.results_table(subs, records)
    cat, dog = subs[0].id[:12], subs[1].id[:12]
    assert repr(table) == "\n".join([
        "id            file         status                    labels or error",
        f"{cat}  cat.png      SUCCEEDED                 Cat 98.1%, Animal 97.0%, Pet 90.5%",
        f"{dog}  dog.jpg      FAILED                    InvalidImageFormatException: bad",
        "—             drawing.gif  415 UnsupportedMediaType  image/gif is not accepted",
        "—             liar.png     400 NotAnImage            the bytes are not image/png",
    ])
    assert "<td>Cat 98.1%, Animal 97.0%, Pet 90.5%</td>" in table._repr_html_()
    # before the records arrive, the submission's own status shows
    assert repr(pc.results_table(subs[:1])).splitlines()[1].split() == [cat, "cat.png", "SUCCEEDED"]
    assert repr(pc.results_table([])) == "no results"


def test_error_message_shows_the_functions_message_not_its_stack_trace():
    cause = json.dumps({"errorMessage": "Request has invalid image format", "errorType": "InvalidImageFormatException",
                        "stackTrace": ["  File \"/home/someone/code/label_detector.py\", line 9"]})
    record = {"status": "FAILED", "error": {"Error": "InvalidImageFormatException", "Cause": cause}}
    assert pc.error_message(record) == "InvalidImageFormatException: Request has invalid image format"
    assert pc.error_message({"error": {"Error": "States.Timeout", "Cause": "x" * 200}}, max_chars=30) == (
        "States.Timeout: " + "x" * 13 + "…")
    assert pc.error_message({"error": {"Error": "Oops"}}) == "Oops"
    bucket = {"error": {"Error": "InvalidParameterException",
                        "Cause": "Invalid Parameters (s3://alice-images-999999999999-us-east-1/images/ab12.png)"}}
    assert pc.error_message(bucket, max_chars=200) == (
        "InvalidParameterException: Invalid Parameters (s3://alice-images-<account>-us-east-1/images/ab12.png)")
    assert pc.error_message({"status": "SUCCEEDED"}) == ""


def test_per_image_counts_objects_records_and_executions(localcloud):
    wb = workbook.start("local", "us-east-1", "client-test", port=int(localcloud.rsplit(":", 1)[1]))
    storage.ensure_bucket(wb)
    storage.ensure_table(wb)
    sfn = wb.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/client-test-state-machine-role"
    arn = sfn.create_state_machine(name=wb.names.state_machine, roleArn=role, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    one, two, never = "1" * 64, "2" * 64, "3" * 64
    s3, ddb = wb.client("s3"), wb.client("dynamodb")
    s3.put_object(Bucket=wb.names.bucket, Key=f"images/{one}.png", Body=b"x")
    s3.put_object(Bucket=wb.names.bucket, Key=f"images/{two}.png", Body=b"x")
    s3.put_object(Bucket=wb.names.bucket, Key=f"images/{two}.jpg", Body=b"x")  # a contract breach: counted
    s3.put_object(Bucket=wb.names.bucket, Key=f"staging/{never}", Body=b"x")  # not under images/
    for image_id in (one, two):
        ddb.put_item(TableName=wb.names.table, Item={"id": {"S": image_id}, "status": {"S": "SUCCEEDED"}})
    sfn.start_execution(stateMachineArn=arn, name=one)
    try:
        counts = pc.per_image(wb, [one, two, never, one])
        assert counts == [(one, 1, 1, 1), (two, 2, 1, 0), (never, 0, 0, 0)]
        assert repr(counts).splitlines() == [
            "id            file  images/ objects  records  executions",
            "111111111111                      1        1           1",
            "222222222222                      2        1           0",
            "333333333333                      0        0           0",
        ]
        named = pc.per_image(wb, {one: "one.png", never: "never-sent.jpg"})
        assert named == [(one, 1, 1, 1), (never, 0, 0, 0)]
        assert repr(named).splitlines()[1] == "111111111111  one.png                       1        1           1"
    finally:
        cleanup.delete_everything(wb)
