"""The daemon's side of the control socket: ``ControlServer`` hands each request to a handler.

One request per connection: the server reads the first line, calls ``handler.handle(request,
reply)``, and closes the connection when the handler returns. What the handler raises becomes an
error reply (and a log line); it never stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from pyclaw.meta import PyClawError
from pyclaw.runtime._control_wire import (
    MAX_REQUEST_LINE,
    ControlError,
    ControlProtocolError,
    DaemonAlreadyRunning,
    JsonObject,
    check_socket_path,
    decode,
    encode,
    error_reply,
    read_line,
)

log = logging.getLogger("pyclaw.runtime.control")

REQUEST_TIMEOUT_S = 10.0
"""How long a new connection may take to send its request line."""
SEND_TIMEOUT_S = 30.0
"""How long one reply line may wait for a client that does not read before it is dropped."""
CLOSE_TIMEOUT_S = 5.0
STALE_PROBE_TIMEOUT_S = 0.5
SOCKET_MODE = 0o600
DIR_MODE = 0o700


class ReplyStream:
    """The handler's end of one connection: send reply lines, receive the client's later lines."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        send_timeout: float = SEND_TIMEOUT_S,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._send_timeout = send_timeout
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the client went away (or did not read in time) or the connection was closed."""
        return self._closed or self._writer.is_closing()

    async def send(self, message: Mapping[str, object]) -> bool:
        """Write one reply line; ``False`` (and nothing raised) when the client is gone."""
        if self.closed:
            return False
        try:
            self._writer.write(encode(message))
            async with asyncio.timeout(self._send_timeout):
                await self._writer.drain()
        except (ConnectionError, TimeoutError, OSError):
            self._abort()
            return False
        return True

    async def receive(self) -> JsonObject | None:
        """The next line the client sends on this connection; ``None`` at EOF.

        Raises ``ControlProtocolError`` for a line that is not a JSON object or is too long (the
        connection is then closed). Only one task may wait in ``receive`` at a time.
        """
        if self._closed:
            return None
        try:
            line = await read_line(self._reader, MAX_REQUEST_LINE)
        except ControlProtocolError:
            self._abort()
            raise
        except (ConnectionError, OSError):
            line = None
        if line is None:
            self._closed = True
            return None
        return decode(line)

    def _abort(self) -> None:
        self._closed = True
        self._writer.close()

    async def aclose(self) -> None:
        """Close the connection (idempotent)."""
        self._closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._writer.wait_closed()


class ControlHandler(Protocol):
    """What the daemon does with one request (the first line of a connection)."""

    async def handle(self, request: JsonObject, reply: ReplyStream) -> None: ...


class ControlServer:
    """Listens on a Unix socket (mode 0600, in a 0700 directory) and serves ``handler``.

    ``start()`` removes a stale socket file left by a dead daemon (one nobody answers on) and
    raises ``DaemonAlreadyRunning`` when a live process answers on it. ``close()`` stops
    listening, removes the socket file and cancels the requests still being handled.
    """

    def __init__(
        self,
        path: Path,
        handler: ControlHandler,
        *,
        request_timeout: float = REQUEST_TIMEOUT_S,
        send_timeout: float = SEND_TIMEOUT_S,
    ) -> None:
        self.path = path
        self.handler = handler
        self.request_timeout = request_timeout
        self.send_timeout = send_timeout
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        """Bind and listen. Raises ``DaemonAlreadyRunning`` or ``ControlError``."""
        if self._server is not None:
            raise RuntimeError("ControlServer.start() called twice")
        address = check_socket_path(self.path)
        await asyncio.to_thread(_prepare_path, self.path)
        try:
            self._server = await asyncio.start_unix_server(
                self._on_connection, path=address, limit=MAX_REQUEST_LINE
            )
        except OSError as exc:
            raise ControlError(f"cannot listen on {self.path}: {exc.strerror or exc}") from None
        os.chmod(self.path, SOCKET_MODE)
        self._inode = os.stat(self.path).st_ino
        log.debug("control socket listening on %s", self.path)

    async def close(self) -> None:
        """Stop accepting, remove the socket file, cancel in-flight requests (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self._unlink()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _unlink(self) -> None:
        try:
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        reply = ReplyStream(reader, writer, send_timeout=self.send_timeout)
        try:
            await self._serve(reader, reply)
        finally:
            if task is not None:
                self._tasks.discard(task)
            await reply.aclose()

    async def _serve(self, reader: asyncio.StreamReader, reply: ReplyStream) -> None:
        try:
            async with asyncio.timeout(self.request_timeout):
                line = await read_line(reader, MAX_REQUEST_LINE)
            if line is None:
                return
            request = decode(line)
        except ControlProtocolError as exc:
            await reply.send(error_reply(exc))
            return
        except (TimeoutError, ConnectionError, OSError):
            return
        try:
            await self.handler.handle(request, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failing request must never stop the server
            op = request.get("op")
            if isinstance(exc, PyClawError):
                log.warning("control request %r failed: %s", op, exc)
            else:
                log.exception("control request %r failed", op)
            await reply.send(error_reply(exc))


def _prepare_path(path: Path) -> None:
    """Create the socket's directory (0700) and remove a stale socket file left at ``path``."""
    if not path.parent.exists():
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        path.parent.chmod(DIR_MODE)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlError(f"{path} exists and is not a socket; remove it or choose another home")
    if _answers(path):
        raise DaemonAlreadyRunning(f"another daemon is already listening on {path}")
    log.info("removing stale control socket %s", path)
    path.unlink(missing_ok=True)


def _answers(path: Path) -> bool:
    """Whether a process accepts connections on the Unix socket at ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(STALE_PROBE_TIMEOUT_S)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
