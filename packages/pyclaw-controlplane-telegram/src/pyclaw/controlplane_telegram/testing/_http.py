"""The HTTP side of the fake Bot API: ``/bot<token>/<method>`` over a stdlib ``ThreadingHTTPServer``.

Requests are what PTB sends: ``application/x-www-form-urlencoded`` bodies whose values are JSON
(strings are sent bare), or a JSON body. Answers are Telegram's envelopes
(``{"ok": true, "result": …}`` / ``{"ok": false, "error_code": …, "description": …}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl

RAW_FIELDS = frozenset(
    {"text", "parse_mode", "action", "callback_query_id", "url", "caption", "emoji", "description"}
)
"""Parameters kept as sent (never JSON-decoded): their values are free text."""


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


Dispatch = Callable[[str, str, dict[str, Any]], Any]
"""``(token, method, params) -> result``; raises ``ApiError``."""


def decode_params(content_type: str, body: bytes) -> dict[str, Any]:
    """The call's parameters, JSON values decoded (free-text fields left as strings)."""
    if content_type.startswith("application/json"):
        loaded: object = json.loads(body or b"{}")
        return cast("dict[str, Any]", loaded) if isinstance(loaded, dict) else {}
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        if key in RAW_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        status, envelope = 404, ApiError(404, "Not Found").envelope()
        if len(parts) == 2 and parts[0].startswith("bot"):
            try:
                params = decode_params(self.headers.get("Content-Type") or "", body)
                server = cast("_Server", self.server)
                result = server.dispatch(parts[0][3:], parts[1], params)
            except ApiError as exc:
                status, envelope = exc.code, exc.envelope()
            else:
                status, envelope = 200, {"ok": True, "result": result}
        payload = json.dumps(envelope).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client abandoned a long poll
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    dispatch: Dispatch

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client going away mid-answer is normal for long polling


def make_server(dispatch: Dispatch, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server (not yet serving) that answers every call through ``dispatch``."""
    server = _Server((host, port), _Handler)
    server.dispatch = dispatch
    return server
