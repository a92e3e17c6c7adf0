"""A POST upload is read in bounded pieces: the server holds about its limit, never the body (issue 9, point 4)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from localcloud import process
from tests.conftest import REGION
from tests.support import unique

LIMIT = 15 * 1024 * 1024  # what the workbook's presigned POSTs allow
BODY = 200 * 1024 * 1024  # the oversized body
PIECE = b"\0" * (1024 * 1024)
SLACK_MB = 40  # interpreter, werkzeug and moto buffers around one request


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def instance(private_localcloud):
    """A fresh local cloud, so its peak memory is this test's alone."""
    return private_localcloud


def s3_client(instance: process.Instance):
    credentials = getattr(instance, "credentials", None)
    keys = credentials.as_env() if credentials is not None else {}
    return boto3.client("s3", endpoint_url=instance.endpoint, region_name=REGION,
                        config=Config(retries={"max_attempts": 1}),
                        aws_access_key_id=keys.get("AWS_ACCESS_KEY_ID"),
                        aws_secret_access_key=keys.get("AWS_SECRET_ACCESS_KEY"),
                        aws_session_token=keys.get("AWS_SESSION_TOKEN"))


def multipart(fields: dict[str, str], file_size: int, boundary: str = "localcloud-test-boundary"):
    """(headers, body generator) for a form with a file of ``file_size`` zeros, never held whole."""
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in fields.items())
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n' \
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        left = file_size
        while left:
            yield PIECE[: min(left, len(PIECE))]
            left -= min(left, len(PIECE))
        yield tail

    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body, len(head) + file_size + len(tail)


class Sized:
    """An iterable body of known length: requests sends it with a Content-Length, unchunked."""

    def __init__(self, body, length: int) -> None:
        self.body, self.length = body, length

    def __iter__(self):
        return iter(self.body())

    def __len__(self) -> int:
        return self.length


def send(url: str, headers: dict[str, str], body, length: int | None = None) -> requests.Response | None:
    """POST the body (chunked when ``length`` is None); None when the server closed the
    connection before the client finished sending."""
    try:
        return requests.post(url, data=body() if length is None else Sized(body, length), headers=headers, timeout=120)
    except requests.ConnectionError:
        return None


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_200_mb_post_is_refused_holding_no_more_than_its_limit(instance, framing):
    s3 = s3_client(instance)
    bucket = unique("post-limits")
    s3.create_bucket(Bucket=bucket)
    upload = s3.generate_presigned_post(bucket, "uploads/big.bin", Conditions=[["content-length-range", 1, LIMIT]],
                                        ExpiresIn=300)
    headers, body, length = multipart(upload["fields"], BODY)
    before = peak_rss_mb(instance.pid)
    response = send(upload["url"], headers, body, length if framing == "content-length" else None)
    grown = peak_rss_mb(instance.pid) - before
    print(f"{framing}: server peak RSS {before:.0f} MB -> +{grown:.1f} MB for a {BODY >> 20} MB body")
    if response is not None:  # refused early: the client may also see the connection close first
        assert response.status_code == 400 and "<Code>EntityTooLarge</Code>" in response.text, response.text
        assert f"<MaxSizeAllowed>{LIMIT}</MaxSizeAllowed>" in response.text
        if framing == "content-length":
            assert f"<ProposedSize>{BODY}</ProposedSize>" in response.text
    assert grown < LIMIT / 2**20 + SLACK_MB
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # The same form within its limit is stored, byte for byte.
    headers, body, length = multipart(upload["fields"], 3 * 1024 * 1024)
    assert requests.post(upload["url"], data=b"".join(body()), headers=headers, timeout=60).status_code == 204
    assert s3.head_object(Bucket=bucket, Key="uploads/big.bin")["ContentLength"] == 3 * 1024 * 1024


def test_fields_before_the_file_are_held_to_20_kb_while_reading(instance):
    s3 = s3_client(instance)
    bucket = unique("post-limits")
    s3.create_bucket(Bucket=bucket)
    boundary = "b0undary"
    huge = f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'.encode()

    def body():
        yield huge
        for _ in range(64):  # a 64 MB field value before any file
            yield b"k" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    before = peak_rss_mb(instance.pid)
    response = send(f"{instance.endpoint}/{bucket}", {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                    body)
    assert peak_rss_mb(instance.pid) - before < SLACK_MB
    if response is not None:
        assert response.status_code == 400 and "MaxPostPreDataLengthExceededError" in response.text
