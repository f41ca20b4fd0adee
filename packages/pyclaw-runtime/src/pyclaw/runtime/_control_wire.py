"""The framing of the daemon's control protocol: one JSON object per ``\\n``-terminated UTF-8 line.

Also the errors a control client can meet. The protocol itself (the ops and their replies) is
described in ``pyclaw.runtime._control``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from pydantic import JsonValue

from pyclaw.meta import PyClawError

JsonObject = dict[str, JsonValue]
"""One protocol message."""

MAX_REQUEST_LINE = 1024 * 1024
"""The longest line (without its ``\\n``) the server accepts from a client: 1 MiB."""
MAX_REPLY_LINE = 64 * 1024 * 1024
"""The longest line a client accepts from the daemon (a reply can carry a long session event)."""
MAX_SOCKET_PATH = 107
"""``sun_path`` holds 108 bytes on Linux, including the terminating NUL."""


class ControlError(PyClawError):
    """The daemon's control socket could not be used as asked (refused, closed early, bad reply)."""


class DaemonNotRunning(ControlError):  # noqa: N818 - the name the CLI and the daemon agreed on
    """Nothing listens on the home's control socket."""


class DaemonAlreadyRunning(ControlError):  # noqa: N818 - pairs with DaemonNotRunning
    """Another process already answers on the control socket this server wanted."""


class ControlProtocolError(ControlError):
    """A line on the control socket was not one JSON object, or was longer than allowed."""


class DaemonRequestError(ControlError):
    """The daemon answered ``{"ok": false, "error": …}``.

    ``remote_type`` is the error's class name on the daemon's side; the exit status is that of the
    ``pyclaw.meta`` error of the same name (e.g. 2 for a ``UsageError``), else 1.
    """

    def __init__(self, message: str, *, remote_type: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type
        self.exit_code = _exit_code_of(remote_type)


def _exit_code_of(type_name: str) -> int:
    import pyclaw.meta  # noqa: PLC0415 - a module already loaded; looked up by name

    candidate: object = getattr(pyclaw.meta, type_name, None)
    if isinstance(candidate, type) and issubclass(candidate, PyClawError):
        return candidate.exit_code
    return 1


def encode(message: Mapping[str, object]) -> bytes:
    """One message as a protocol line (compact JSON, UTF-8, ``\\n``)."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def decode(line: bytes) -> JsonObject:
    """A protocol line as a message; ``ControlProtocolError`` unless it is one JSON object."""
    try:
        value: object = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ControlProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(value, dict):
        raise ControlProtocolError("a control message must be a JSON object")
    return cast("JsonObject", value)


async def read_line(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    """The next line without its ``\\n`` (a last line without one counts); ``None`` at EOF.

    ``reader`` must have been created with a buffer limit of at least ``limit`` bytes.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None
    except asyncio.LimitOverrunError:
        raise ControlProtocolError(f"line longer than {limit} bytes refused") from None
    if len(line) - 1 > limit:
        raise ControlProtocolError(f"line longer than {limit} bytes refused")
    return line[:-1]


def error_reply(exc: BaseException) -> JsonObject:
    """``{"ok": false, "error": {"type": …, "message": …}}`` for an exception."""
    message = exc.message if isinstance(exc, PyClawError) else str(exc)
    message = " ".join(message.split()) or type(exc).__name__
    return {"ok": False, "error": {"type": type(exc).__name__, "message": message}}


def raise_for_error(reply: JsonObject) -> JsonObject:
    """``reply`` itself, unless it is an error reply: then ``DaemonRequestError``."""
    if reply.get("ok") is not False:
        return reply
    error = reply.get("error")
    details = cast("JsonObject", error) if isinstance(error, dict) else {}
    message = details.get("message")
    remote_type = details.get("type")
    raise DaemonRequestError(
        message if isinstance(message, str) and message else "the daemon refused the request",
        remote_type=remote_type if isinstance(remote_type, str) else "Error",
    )


def check_socket_path(path: Path) -> str:
    """``path`` as the string to bind or connect; ``ControlError`` when it is too long for AF_UNIX."""
    text = str(path)
    if len(text.encode()) > MAX_SOCKET_PATH:
        raise ControlError(
            f"control socket path is too long for a Unix socket ({len(text.encode())} > "
            f"{MAX_SOCKET_PATH} bytes): {text}",
            hint="use a shorter PYCLAW_HOME",
        )
    return text
