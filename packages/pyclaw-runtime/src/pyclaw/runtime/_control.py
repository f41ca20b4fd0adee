"""The daemon's control socket: how ``pyclaw chat``, ``pyclaw runs stop`` and friends reach it.

Transport: a Unix stream socket at ``$PYCLAW_HOME/run/daemon.sock`` (directory 0700, socket 0600).
Every message is one JSON object on one UTF-8 line ending in ``\\n``; the server refuses a line
longer than 1 MiB with an error reply. A connection carries one request (its first line); the
daemon answers with one or more lines and closes it. During a ``chat`` the client may send more
lines on the same connection (approval answers).

Every error reply is ``{"ok": false, "error": {"type": "<class name>", "message": "<one line>"}}``.

Ops (implemented by the daemon's ``ControlHandler``):

``{"op": "ping"}``
    → ``{"ok": true, "pid": int, "started_at": "<ISO 8601>", "version": str}``
``{"op": "status"}``
    → ``{"ok": true, "runs": [{"run_id", "session_id", "chat", "started_at"}, …],
    "queues": {…}, "channels": […]}``
``{"op": "chat", "id": "cli:<uuid4>", "text": str, "agent": str | null, "session": str | null}``
    → a stream of events, in this order:

    - ``{"event": "session", "session_id": str}`` once the session is known;
    - ``{"event": "session_event", "data": <SessionEvent JSON>}`` for each recorded event;
    - ``{"event": "text", "delta": str}`` for streamed answer text;
    - ``{"event": "approval", "request": <ApprovalRequest JSON>}`` when a call needs a human;
      the client answers on the same connection with ``{"op": "approve", "request_id": str,
      "verdict": "allow" | "deny", "scope": "once" | "window" | "session" | "forever",
      "window_seconds": float | null}`` (or not at all: the request also waits in the approvals
      table for ``pyclaw approvals approve``);
    - finally ``{"event": "done", "result": <RunResult JSON>, "session_id": str}``.
``{"op": "runs.stop", "run_id": str}``
    → ``{"ok": true, "stopped": bool}`` (false: no such run is running in the daemon).

``ControlServer``/``ControlHandler``/``ReplyStream`` are the daemon's side; ``control_request``,
``control_stream``, ``ControlConnection`` and ``daemon_running`` the clients'.
"""

from __future__ import annotations

from pyclaw.runtime._control_client import (
    ControlConnection,
    control_request,
    control_stream,
    daemon_running,
)
from pyclaw.runtime._control_server import ControlHandler, ControlServer, ReplyStream
from pyclaw.runtime._control_wire import (
    MAX_REQUEST_LINE,
    ControlError,
    ControlProtocolError,
    DaemonAlreadyRunning,
    DaemonNotRunning,
    DaemonRequestError,
    JsonObject,
    error_reply,
    raise_for_error,
)

__all__ = [
    "MAX_REQUEST_LINE",
    "ControlConnection",
    "ControlError",
    "ControlHandler",
    "ControlProtocolError",
    "ControlServer",
    "DaemonAlreadyRunning",
    "DaemonNotRunning",
    "DaemonRequestError",
    "JsonObject",
    "ReplyStream",
    "control_request",
    "control_stream",
    "daemon_running",
    "error_reply",
    "raise_for_error",
]
