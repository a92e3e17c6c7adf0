"""Reading and dropping request bodies in the front door without blocking or hoarding."""

from __future__ import annotations

import io

import pytest

from localcloud import wsgi_input
from localcloud.wsgi_input import BodyTooLarge, buffer_body, discard_body


class NeverRead(io.RawIOBase):
    """A keep-alive connection with no body: reading would wait for the client's next request."""

    def read(self, size=-1):
        raise AssertionError("read a body that was never sent")


def test_no_body_is_not_read():
    assert discard_body({"wsgi.input": NeverRead()}) is True
    assert discard_body({"wsgi.input": NeverRead(), "CONTENT_LENGTH": ""}) is True


def test_a_declared_body_is_drained_up_to_the_limit_then_given_up():
    stream = io.BytesIO(b"x" * 10)
    assert discard_body({"wsgi.input": stream, "CONTENT_LENGTH": "10"}) is True and stream.tell() == 10
    assert discard_body({"wsgi.input": NeverRead(), "CONTENT_LENGTH": "11"}, limit=10) is False


def test_a_chunked_body_over_the_limit_is_given_up():
    assert discard_body({"wsgi.input": io.BytesIO(b"x" * 20), "wsgi.input_terminated": True}, limit=10) is False


def test_buffer_body_refuses_a_declared_or_found_length_over_its_limit():
    with pytest.raises(BodyTooLarge):
        buffer_body({"wsgi.input": NeverRead(), "CONTENT_LENGTH": "11"}, limit=10)
    with pytest.raises(BodyTooLarge):
        buffer_body({"wsgi.input": io.BytesIO(b"x" * 11), "wsgi.input_terminated": True}, limit=10)
    environ = {"wsgi.input": io.BytesIO(b"abc"), "CONTENT_LENGTH": "3"}
    assert buffer_body(environ, limit=10) == b"abc" and environ["wsgi.input"].read() == b"abc"


def test_request_reads_method_path_query_and_a_json_calls_operation():
    seen = wsgi_input.request({"REQUEST_METHOD": "POST", "PATH_INFO": "/b/k", "QUERY_STRING": "uploads&x=1",
                               "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"})
    assert (seen.method, seen.path, seen.query, seen.json_operation) == (
        "POST", "/b/k", {"uploads": [""], "x": ["1"]}, "PutItem")
    rest = wsgi_input.request({})
    assert (rest.method, rest.path, rest.query, rest.json_operation) == ("GET", "", {}, None)
