"""``FakeServer``: the scripted, recording HTTP server both fake model APIs are built on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self, cast

from pyclaw.llm.testing._http import Exchange, HTTPServer, JSONObject, RecordedRequest
from pyclaw.llm.testing._script import (
    DropFault,
    FakeReply,
    Fault,
    HangFault,
    MalformedJSONFault,
    ScriptItem,
    StatusFault,
    to_step,
)


class FakeServer(ABC):
    """A fake model API on ``127.0.0.1`` (a free port), run in a background thread.

    Answers come from a queue (``add(...)``, or the constructor's ``script``) of ``ScriptItem``s:
    text, tool calls, a ``FakeReply`` or a fault; when the queue is empty the server echoes the
    last user message, or asks ``responder`` (a function of the request body) when one is set:
    a stateless model for tests that restart their client. Every request is kept in ``requests``. ``disconnects`` counts the answers a
    client abandoned (closed its connection while the server was still answering or hanging).
    Use it as a context manager (``with`` or ``async with``) or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        api_key: str | None = None,
        responder: Callable[[JSONObject], ScriptItem] | None = None,
    ) -> None:
        self._steps: deque[FakeReply | Fault] = deque(to_step(item) for item in script)
        self.api_key = api_key
        self.responder = responder
        """Answers requests when the queue is empty (called on the server's thread)."""
        """When set, requests must carry this key, else they get the protocol's 401."""
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        """Bugs in the fake itself (an exception while answering); empty in a healthy test."""
        self._lock = threading.Lock()
        self._disconnected = threading.Condition(self._lock)
        self._disconnects = 0
        self._stopping = threading.Event()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # --- scripting and inspection ------------------------------------------------------------

    def add(self, *items: ScriptItem) -> None:
        """Queue answers (or faults), used in order by the next requests."""
        steps = [to_step(item) for item in items]
        with self._lock:
            self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        """How many queued steps are still unused."""
        with self._lock:
            return len(self._steps)

    @property
    def disconnects(self) -> int:
        """How many times a client went away before its answer was complete."""
        with self._lock:
            return self._disconnects

    def wait_for_disconnect(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``disconnects >= count`` (``False`` after ``timeout`` seconds)."""
        with self._disconnected:
            return self._disconnected.wait_for(lambda: self._disconnects >= count, timeout)

    async def until_disconnect(self, count: int = 1, *, seconds: float = 5.0) -> bool:
        """``wait_for_disconnect`` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for_disconnect, count, seconds)

    # --- life cycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; call start() or use `with`")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The server's root URL, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    @abstractmethod
    def base_url(self) -> str:
        """The URL to give the protocol's SDK or provider as ``base_url``."""

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = HTTPServer(("127.0.0.1", 0), self)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end hangs and close every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        for sock in list(httpd.open_sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # --- the protocol, supplied by subclasses --------------------------------------------------

    @abstractmethod
    def handles(self, path: str) -> bool:
        """Whether ``path`` is the model endpoint."""

    @abstractmethod
    def request_fault(self, request: RecordedRequest) -> StatusFault | None:
        """The error a real server would give this request (bad key, invalid body), if any."""

    @abstractmethod
    def error_body(self, status: int, message: str, error_type: str | None) -> JSONObject:
        """The protocol's error JSON for an HTTP error."""

    @abstractmethod
    def reply_body(self, reply: FakeReply, request: JSONObject) -> JSONObject:
        """The JSON answer for a non-streamed request."""

    @abstractmethod
    def reply_events(self, reply: FakeReply, request: JSONObject) -> list[bytes]:
        """The server-sent events of a streamed answer, in order, including any end marker."""

    @abstractmethod
    def error_event(self, message: str, error_type: str | None, request: JSONObject) -> bytes:
        """The protocol's in-stream error event (for ``request``)."""

    @abstractmethod
    def echo_text(self, request: JSONObject) -> str:
        """The default answer's text: the last user message."""

    stream_error_status = 500
    """The status a ``StreamErrorFault`` gets when the request was not streamed."""

    def response_headers(self) -> dict[str, str]:
        """Headers sent with every response (a request id)."""
        return {"x-request-id": f"req_fake_{self.next_number()}"}

    def next_number(self) -> int:
        """A counter for ids (thread-safe)."""
        with self._lock:
            self._counter += 1
            return self._counter

    # --- answering -----------------------------------------------------------------------------

    def _next_step(self, request: JSONObject) -> FakeReply | Fault:
        with self._lock:
            if self._steps:
                return self._steps.popleft()
        if self.responder is not None:
            return to_step(self.responder(request))
        return FakeReply(text=self.echo_text(request))

    def _record_disconnect(self) -> None:
        with self._disconnected:
            self._disconnects += 1
            self._disconnected.notify_all()

    def respond(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        """Read, record and answer one request (called by the HTTP handler's thread)."""
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in handler.headers.items()}
        recorded = RecordedRequest(method, handler.path, headers, body, raw)
        with self._lock:
            self.requests.append(recorded)
        try:
            self._answer(handler, recorded)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must not kill its thread
            self.errors.append(f"{type(exc).__name__}: {exc}")
            handler.close_connection = True

    def _answer(self, handler: BaseHTTPRequestHandler, recorded: RecordedRequest) -> None:
        out = Exchange(
            handler,
            stopping=self._stopping,
            on_disconnect=self._record_disconnect,
            headers=self.response_headers(),
        )
        if recorded.method != "POST" or not self.handles(recorded.path):
            out.send_json(404, self.error_body(404, f"Unknown path {recorded.path}", None))
            return
        fault = self.request_fault(recorded)
        body = cast("JSONObject", recorded.body) if fault is None else {}
        step = fault or self._next_step(body)
        if isinstance(step, FakeReply):
            self._reply(out, step, body, stream=recorded.stream)
        else:
            self._fault(out, step, body, stream=recorded.stream)

    def _reply(self, out: Exchange, reply: FakeReply, body: JSONObject, *, stream: bool) -> None:
        if reply.delay and not out.wait(reply.delay):
            return
        if not stream:
            out.send_json(200, self.reply_body(reply, body))
            return
        if not out.start_stream():
            return
        for event in self.reply_events(reply, body):
            if not out.send_event(event, delay=reply.chunk_delay):
                return
        out.end_stream()

    def _fault(self, out: Exchange, fault: Fault, body: JSONObject, *, stream: bool) -> None:
        if isinstance(fault, StatusFault):
            self._status(out, fault)
        elif isinstance(fault, MalformedJSONFault):
            if not stream:
                out.send_bytes(200, fault.body.encode())
            elif out.start_stream() and out.send_event(f"data: {fault.body}\n\n".encode()):
                out.end_stream()
        elif isinstance(fault, DropFault):
            if not stream:
                data = json.dumps(self.reply_body(fault.reply, body)).encode()
                out.send_bytes(200, data, cut_at=len(data) // 2)
            elif self._partial_stream(out, fault.reply, body, fault.after_events):
                out.drop()
        elif isinstance(fault, HangFault):
            started = stream and fault.after_events is not None
            if started and not self._partial_stream(
                out, fault.reply, body, fault.after_events or 0
            ):
                return
            if out.wait(fault.seconds):
                out.drop()
        elif not stream:
            error = self.error_body(self.stream_error_status, fault.message, fault.error_type)
            out.send_json(self.stream_error_status, error)
        elif self._partial_stream(out, fault.reply, body, fault.after_events) and out.send_event(
            self.error_event(fault.message, fault.error_type, body)
        ):
            out.end_stream()

    def _status(self, out: Exchange, fault: StatusFault) -> None:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            value = fault.retry_after
            headers["retry-after"] = value if isinstance(value, str) else f"{value:g}"
        error = self.error_body(fault.status, fault.message, fault.error_type)
        out.send_json(fault.status, error, headers=headers)

    def _partial_stream(
        self, out: Exchange, reply: FakeReply, body: JSONObject, count: int
    ) -> bool:
        if not out.start_stream():
            return False
        for event in self.reply_events(reply, body)[:count]:
            if not out.send_event(event, delay=reply.chunk_delay):
                return False
        return True
