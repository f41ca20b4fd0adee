"""The client's side of the control socket: one request, a stream of replies, follow-up lines."""

# ruff: noqa: ASYNC109 - control_request(..., timeout=) is the agreed signature; it bounds one reply

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from pyclaw.runtime._control_wire import (
    MAX_REPLY_LINE,
    MAX_SOCKET_PATH,
    ControlError,
    ControlProtocolError,
    DaemonNotRunning,
    JsonObject,
    check_socket_path,
    decode,
    encode,
    raise_for_error,
    read_line,
)
from pyclaw.runtime._home import PyClawHome

CONNECT_TIMEOUT_S = 2.0
SEND_TIMEOUT_S = 10.0
PING_TIMEOUT_S = 0.5
MAX_PING_REPLY = 65536


class ControlConnection:
    """One connection to the daemon: ``send()`` lines, iterate over (or ``receive()``) replies.

    ``async with ControlConnection(path) as conn:`` connects (``DaemonNotRunning`` when nothing
    listens on ``path``); the first ``send`` is the request, later ones answer it (e.g. approvals
    during a chat). Iterating yields reply messages until the daemon closes the connection.
    """

    def __init__(self, path: Path, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.path = path
        self.connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        address = check_socket_path(self.path)
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._reader, self._writer = await asyncio.open_unix_connection(
                    address, limit=MAX_REPLY_LINE
                )
        except (FileNotFoundError, ConnectionRefusedError):
            raise _not_running(self.path) from None
        except TimeoutError:
            raise ControlError(f"the daemon did not accept a connection on {self.path}") from None
        except OSError as exc:
            raise ControlError(f"cannot reach the daemon at {self.path}: {exc.strerror}") from None

    async def send(self, message: Mapping[str, object]) -> None:
        """Write one line to the daemon."""
        writer = self._require_writer()
        try:
            writer.write(encode(message))
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await writer.drain()
        except TimeoutError:
            raise ControlError("the daemon stopped reading its control connection") from None
        except (ConnectionError, OSError):
            raise ControlError("the daemon closed the control connection") from None

    async def receive(self, timeout: float | None = None) -> JsonObject | None:
        """The next reply; ``None`` once the daemon closed the connection."""
        if self._reader is None:
            raise RuntimeError("ControlConnection is not connected")
        try:
            async with asyncio.timeout(timeout):
                line = await read_line(self._reader, MAX_REPLY_LINE)
        except TimeoutError:
            raise ControlError(f"the daemon did not answer within {timeout:g} s") from None
        except (ConnectionError, OSError):
            return None
        return None if line is None else decode(line)

    async def __aiter__(self) -> AsyncIterator[JsonObject]:
        while (message := await self.receive()) is not None:
            yield message

    async def aclose(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await writer.wait_closed()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _require_writer(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise RuntimeError("ControlConnection is not connected")
        return self._writer


def _not_running(path: Path) -> DaemonNotRunning:
    return DaemonNotRunning(
        f"no daemon is running (nothing listens on {path})", hint="start one with 'pyclaw daemon'"
    )


async def control_request(
    path: Path, request: Mapping[str, object], *, timeout: float = 10.0
) -> JsonObject:
    """Send ``request`` and return the daemon's one reply.

    Raises ``DaemonNotRunning``, ``ControlError`` (no reply within ``timeout`` seconds, or the
    connection closed without one) or ``DaemonRequestError`` (an ``{"ok": false}`` reply).
    """
    async with ControlConnection(path, connect_timeout=min(timeout, CONNECT_TIMEOUT_S)) as conn:
        await conn.send(request)
        reply = await conn.receive(timeout)
    if reply is None:
        raise ControlError("the daemon closed the connection without answering")
    return raise_for_error(reply)


async def control_stream(path: Path, request: Mapping[str, object]) -> AsyncIterator[JsonObject]:
    """Send ``request`` and yield every reply until the daemon closes the connection.

    Use ``ControlConnection`` instead when the request needs follow-up lines.
    """
    async with ControlConnection(path) as conn:
        await conn.send(request)
        async for message in conn:
            yield message


def daemon_running(home: PyClawHome, *, timeout: float = PING_TIMEOUT_S) -> bool:
    """Whether a daemon answers ``ping`` on ``home``'s control socket within ``timeout`` seconds.

    Synchronous and cheap (no event loop): a missing socket file answers at once.
    """
    path = home.control_socket
    if len(str(path).encode()) > MAX_SOCKET_PATH or not path.exists():
        return False
    deadline = time.monotonic() + timeout
    data = b""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(encode({"op": "ping"}))
            while not data.endswith(b"\n") and len(data) < MAX_PING_REPLY:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        reply = decode(data)
    except (OSError, ControlProtocolError):
        return False
    return reply.get("ok") is True
