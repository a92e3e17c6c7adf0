"""The local cloud's HTTP server keeps connections open (serving.py): one connection carries
request after request, whatever each left unread of its body, and is closed when it must be."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from localcloud.auth import client
from localcloud.wsgi_input import DRAIN_LIMIT


def _connection(endpoint: str) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _health(conn: http.client.HTTPConnection, body: bytes | None = None, **headers: str) -> http.client.HTTPResponse:
    conn.request("GET", "/_localcloud/health", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


def _port(conn: http.client.HTTPConnection) -> int:
    return conn.sock.getsockname()[1]  # the client's end: the same number means the same connection


def test_one_connection_serves_request_after_request(localcloud):
    conn = _connection(localcloud)
    first = _health(conn)
    used = _port(conn)
    for _ in range(3):
        answer = _health(conn)
        assert answer.status == 200 and answer.getheader("Connection") is None
        assert _port(conn) == used
    assert first.status == 200


def test_a_body_the_application_did_not_read_is_drained_before_the_next_request(localcloud):
    conn = _connection(localcloud)
    body = b'{"ignored": "' + b"x" * 100_000 + b'"}'  # health reads no body
    assert _health(conn, body, **{"Content-Type": "application/json"}).status == 200
    used = _port(conn)
    answer = _health(conn)
    assert answer.status == 200 and _port(conn) == used


def _send_chunked(conn: http.client.HTTPConnection, method: str, path: str, body: bytes,
                  headers: dict[str, str]) -> http.client.HTTPResponse:
    conn.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers.items():
        if name.lower() != "content-length":
            conn.putheader(name, value)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for piece in (body[:7], body[7:]):
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    answer = conn.getresponse()
    answer.read()
    return answer


def test_a_chunked_body_read_to_its_end_keeps_the_connection(localcloud):
    conn = _connection(localcloud)
    body = json.dumps({"mode": "enforce"}).encode()
    signed = client.signed_request(localcloud, "PUT", "/_localcloud/iam", body)
    answer = _send_chunked(conn, "PUT", "/_localcloud/iam", body, dict(signed.header_items()))
    used = _port(conn)
    assert answer.status == 200 and answer.getheader("Connection") is None
    assert _health(conn).status == 200 and _port(conn) == used


def test_a_chunked_body_left_unread_closes_the_connection_and_says_so(localcloud):
    conn = _connection(localcloud)
    answer = _send_chunked(conn, "GET", "/_localcloud/health", b'{"a": "' + b"y" * 5000 + b'"}',
                           {"Content-Type": "application/json"})
    assert answer.status == 200 and answer.getheader("Connection") == "close"


def test_signed_aws_calls_share_one_connection(localcloud):
    dynamodb = boto3.client("dynamodb", endpoint_url=localcloud, region_name="us-east-1",
                            config=Config(retries={"total_max_attempts": 1}))
    for _ in range(5):
        dynamodb.list_tables()
    pool = dynamodb._endpoint.http_session._manager.connection_from_url(localcloud)
    assert pool.num_connections == 1 and pool.num_requests == 5


def test_the_connection_closes_when_the_client_asks(localcloud):
    conn = _connection(localcloud)
    answer = _health(conn, Connection="close")
    assert answer.status == 200 and answer.getheader("Connection") == "close"
    assert answer.will_close


def test_http_1_0_gets_one_request_per_connection(localcloud):
    port = urlsplit(localcloud).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /_localcloud/health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):  # ends: the server closes
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["service"] == "localcloud"


def test_too_much_unread_body_closes_the_connection_after_the_answer(localcloud):
    port = urlsplit(localcloud).port
    size = DRAIN_LIMIT + 1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /_localcloud/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):  # the body is never sent: the server must not wait for it
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_answers_without_a_length_or_a_body_keep_the_connection_usable(localcloud, method):
    s3 = boto3.client("s3", endpoint_url=localcloud, region_name="us-east-1")
    s3.create_bucket(Bucket="serving-keepalive")
    s3.put_object(Bucket="serving-keepalive", Key="k", Body=b"hello")
    conn = _connection(localcloud)
    for _ in range(2):
        request = client.signed_request(localcloud, method, "/serving-keepalive/k", service="s3")
        conn.request(method, "/serving-keepalive/k", headers=dict(request.header_items()))
        answer = conn.getresponse()
        data = answer.read()
        assert answer.status == 200 and data == (b"hello" if method == "GET" else b"")
