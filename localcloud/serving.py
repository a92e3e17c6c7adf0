"""The local cloud's HTTP server: werkzeug's threaded server, with connections kept open.

werkzeug's development server ends every response with ``Connection: close``, because
Python's ``http.server`` cannot tell where a request body the application left unread ends.
So every AWS call a Lambda function made opened a new connection: a socket and a thread
here, a connection in the caller's SDK. This handler bounds each request body by its
``Content-Length`` (or its chunked framing), drains what the application left unread once
the response is sent, and keeps the connection for the client's next request, as HTTP/1.1
intends. It closes the connection when the client asks for that, when a body is not framed,
when more than ``DRAIN_LIMIT`` bytes would have to be drained, when the response was cut
short, and when the connection has been idle for ``IDLE_SECONDS``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

from .wsgi_input import DRAIN_LIMIT

log = logging.getLogger("localcloud.http")

# How long an open connection may wait for its next request (a Lambda environment's SDK
# keeps its connections while the environment is warm); a new one is cheap after that.
IDLE_SECONDS = 60.0
_DROPPED = (ConnectionError, socket.timeout, BrokenPipeError)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (headers with underscores kept), serving many requests per connection."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # A response's head and body leave in separate writes; on an open connection Nagle's
    # algorithm would hold the body until the client's delayed ACK of the head (40 ms).
    disable_nagle_algorithm = True

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._keep = self.request_version == "HTTP/1.1" and \
            "close" not in self.headers.get("Connection", "").lower()
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's DechunkedInput ends at the last chunk
            self._body: Any = environ["wsgi.input"]
        else:
            length = environ.get("CONTENT_LENGTH", "")
            if length and not length.isdigit():
                self._keep = False  # a body of unknown extent: read nothing, then close
                length = "0"
            self._body = environ["wsgi.input"] = LimitedStream(self.rfile, int(length or 0))
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        response = _Response(self)
        try:
            chunks = self.server.app(environ, response.start)
            try:
                for chunk in chunks:
                    response.write(chunk)
                response.finish()
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except _DROPPED:
            self.close_connection = True
            return
        except Exception:  # the application failed: answer 500 if nothing was sent yet, then close
            log.exception("error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            self.close_connection = True
            if not response.started:
                response.status, response.headers = "500 Internal Server Error", [("Content-Length", "0")]
                response.write(b"")
            return
        self.close_connection = not (self._keep and response.complete and self._drain())

    def drainable(self) -> bool:
        """Whether what is left of the body can be drained (said before the response: the
        client must know from its headers that the connection ends)."""
        if isinstance(self._body, LimitedStream):
            return self._body.limit - self._body._pos <= DRAIN_LIMIT
        return bool(getattr(self._body, "_done", True))  # a chunked body is drained only when fully read

    def _drain(self) -> bool:
        """Read what the application left of the body; False when that is too much (close instead)."""
        if isinstance(self._body, LimitedStream):
            left = self._body.limit - self._body._pos
            return left <= 0 or (left <= DRAIN_LIMIT and len(self._body.exhaust()) == left)
        if isinstance(self._body, DechunkedInput):
            drained = 0
            while drained <= DRAIN_LIMIT:
                chunk = self._body.read(64 * 1024)
                if not chunk:
                    return True
                drained += len(chunk)
        return False

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if format.startswith("Request timed out"):  # an idle connection ends: nothing went wrong
            return
        super().log_error(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats a line for every request before its logger drops it (the server
        # logs werkzeug at WARNING): only build it when it is shown.
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)


class _Response:
    """One response on the connection: its status line and headers once, then its body."""

    def __init__(self, handler: KeepAliveHandler) -> None:
        self.handler = handler
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.started = False
        self.chunked = False
        self.declared: int | None = None  # its Content-Length
        self.sent = 0

    def start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    @property
    def complete(self) -> bool:
        return self.declared is None or self.sent == self.declared

    def write(self, data: bytes) -> None:
        handler = self.handler
        if not self.started:
            self._send_head()
        if data:
            if self.chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                handler.wfile.write(data)
            self.sent += len(data)
        handler.wfile.flush()

    def finish(self) -> None:
        if not self.started:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()

    def _send_head(self) -> None:
        assert self.status is not None, "write() before start_response"
        handler = self.handler
        self.started = True
        code, _, reason = self.status.partition(" ")
        handler.send_response(int(code), reason)
        names = set()
        for name, value in self.headers:
            handler.send_header(name, value)
            names.add(name.lower())
            if name.lower() == "content-length" and value.isdigit():
                self.declared = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                handler._keep = False  # the application ends the connection (a body it would not read)
        no_body = handler.command == "HEAD" or int(code) < 200 or int(code) in (204, 304)
        if no_body:
            self.declared = None
        elif "content-length" not in names:
            self.chunked = True
            handler.send_header("Transfer-Encoding", "chunked")
        if handler._keep and not handler.drainable():
            handler._keep = False
        if not handler._keep and "connection" not in names:
            handler.send_header("Connection", "close")
        handler.end_headers()
