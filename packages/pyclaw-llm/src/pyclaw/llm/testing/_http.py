"""The HTTP plumbing under the fake servers: one exchange (request in, response out) on a socket.

Knows HTTP/1.1 (keep-alive, ``Content-Length`` and chunked bodies for server-sent events) and how
to misbehave on purpose (cut the connection, go silent), and notices when the client goes away.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake server received: ``headers`` have lower-case names; ``body`` is the
    decoded JSON (``None`` when the body was not JSON) and ``raw`` the bytes as sent."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw: bytes = field(repr=False)

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed answer."""
        body = json_object(self.body)
        return body is not None and body.get("stream") is True


def json_object(value: object) -> JSONObject | None:
    """``value`` as a decoded JSON object, or ``None`` when it is not one."""
    return cast("JSONObject", value) if isinstance(value, dict) else None


def sse_event(data: str, event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line, a ``data:`` line, a blank line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def sse_json(data: object, event: str | None = None) -> bytes:
    """A server-sent event carrying ``data`` as compact JSON."""
    return sse_event(json.dumps(data, separators=(",", ":")), event)


class Exchange:
    """Writes one response to ``handler``'s socket; ``stopping`` ends hangs when the server stops.

    Every method returns ``False`` (and calls ``on_disconnect`` once) when the client has gone away.
    """

    def __init__(
        self,
        handler: BaseHTTPRequestHandler,
        *,
        stopping: threading.Event,
        on_disconnect: Callable[[], None],
        headers: Mapping[str, str],
    ) -> None:
        self._handler = handler
        self._stopping = stopping
        self._on_disconnect = on_disconnect
        self._headers = headers
        self._gone = False

    def _lost(self) -> bool:
        if not self._gone:
            self._gone = True
            self._handler.close_connection = True
            self._on_disconnect()
        return False

    def peer_closed(self) -> bool:
        """Whether the client has closed its end (checked without blocking)."""
        sock: socket.socket = self._handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; ``False`` early if the client disconnects or the server stops."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(left, 0.01)):
                return False
            if self.peer_closed():
                return self._lost()
        return True

    def _begin(self, status: int, content_type: str, extra: Mapping[str, str]) -> None:
        handler = self._handler
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in {**self._headers, **extra}.items():
            handler.send_header(name, value)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        cut_at: int | None = None,
    ) -> bool:
        """A whole response; with ``cut_at``, only that many body bytes before the connection is
        cut (the ``Content-Length`` still promises all of them)."""
        try:
            self._begin(status, content_type, headers or {})
            self._handler.send_header("Content-Length", str(len(body)))
            self._handler.end_headers()
            self._handler.wfile.write(body if cut_at is None else body[:cut_at])
        except OSError:
            return self._lost()
        if cut_at is not None:
            self.drop()
        return True

    def send_json(
        self, status: int, data: object, *, headers: Mapping[str, str] | None = None
    ) -> bool:
        """A JSON response."""
        return self.send_bytes(status, json.dumps(data).encode(), headers=headers)

    def start_stream(self) -> bool:
        """The headers of a ``text/event-stream`` response with a chunked body."""
        try:
            self._begin(200, "text/event-stream; charset=utf-8", {"Cache-Control": "no-cache"})
            self._handler.send_header("Transfer-Encoding", "chunked")
            self._handler.end_headers()
        except OSError:
            return self._lost()
        return True

    def send_event(self, event: bytes, *, delay: float = 0.0) -> bool:
        """One chunk of the stream, ``delay`` seconds after the previous one."""
        if delay > 0 and not self.wait(delay):
            return False
        if self.peer_closed():
            return self._lost()
        try:
            self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        except OSError:
            return self._lost()
        return True

    def end_stream(self) -> bool:
        """The last (empty) chunk: the body is complete and the connection reusable."""
        try:
            self._handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            return self._lost()
        return True

    def drop(self) -> None:
        """Cut the connection now, in the middle of whatever was being sent."""
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)


class Responder(Protocol):
    """What answers the requests an ``HTTPServer`` receives."""

    def respond(self, handler: BaseHTTPRequestHandler, method: str) -> None: ...


class HTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server that hands every request to ``responder`` and tracks open
    connections (so ``stop`` can close them)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], responder: Responder) -> None:
        super().__init__(address, _Handler)
        self.responder = responder
        self.open_sockets: set[socket.socket] = set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up (resets are part of the job); loud about the rest."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pyclaw-fake/1"

    def setup(self) -> None:
        super().setup()
        # no Nagle: headers, body and stream chunks go out at once (no 40 ms delayed-ACK stalls)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cast("HTTPServer", self.server).open_sockets.add(self.connection)

    def finish(self) -> None:
        cast("HTTPServer", self.server).open_sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read the fake's ``requests`` instead."""

    def do_POST(self) -> None:
        cast("HTTPServer", self.server).responder.respond(self, "POST")

    def do_GET(self) -> None:
        cast("HTTPServer", self.server).responder.respond(self, "GET")
