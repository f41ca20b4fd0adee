"""A loopback forward proxy that is the browser's only way out: every connection is SSRF-checked.

Playwright's ``route()`` never sees redirect hops, so a public page answering ``302 Location:
http://127.0.0.1/`` would slip past a route handler. Chromium is instead pointed at this proxy
(``--proxy-bypass-list=<-loopback>`` so loopback is proxied too): for ``CONNECT host:port`` (https,
wss) and for absolute-form ``GET http://host/...`` requests the proxy runs the ``NetGuard`` (one
DNS resolution, every address checked) and connects to the checked IP only, so redirects,
sub-resources, WebSockets and DNS rebinding are all covered. Refused targets get ``403``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from pyclaw.meta import ToolError
from pyclaw.os._netguard import CheckedTarget, NetGuard

_MAX_HEAD = 64 * 1024
_HOP_HEADERS = frozenset(
    {b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"}
)


BLOCKED_HEADER = "X-PyClaw-Blocked"
"""Set on the proxy's own refusals, so a plain-http navigation can tell them from a site's 403."""


def _reply(status: str, reason: str = "", *, blocked: bool = False) -> bytes:
    body = reason.encode()
    mark = f"{BLOCKED_HEADER}: 1\r\n" if blocked else ""
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{mark}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def _splice(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side ends, then stop the other direction."""
    tasks = {
        asyncio.create_task(_pipe(a_reader, a_writer)),
        asyncio.create_task(_pipe(b_reader, b_writer)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


class GuardProxy:
    """An HTTP proxy on ``127.0.0.1`` enforcing ``guard()``; ``blocked`` lists refusals in order."""

    def __init__(self, guard: Callable[[], NetGuard], *, connect_timeout_s: float = 10.0) -> None:
        self._guard = guard
        self._connect_timeout_s = connect_timeout_s
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.blocked: list[str] = []
        self.allowed: list[str] = []  # "host:port" of every connection made, for audits and tests

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("proxy not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEAD:
                writer.write(_reply("431 Request Header Fields Too Large"))
                return
            method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            url = f"https://{target}/" if method == "CONNECT" else target
            try:
                checked = await self._guard().check(url)
            except ToolError as exc:
                self.blocked.append(exc.message)
                writer.write(_reply("403 Forbidden", exc.message, blocked=True))
                return
            connected = await self._connect(checked)
            if connected is None:
                writer.write(_reply("502 Bad Gateway", f"could not connect to {checked.url}"))
                return
            up_reader, upstream = connected
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await _splice(reader, upstream, up_reader, writer)
                return
            upstream.write(_origin_form(head, method, checked, version))
            # A request body (if any) flows on while the response head is read; once the head is
            # passed on, bytes flow both ways until either side closes (the browser does so after
            # the body, as told by "Connection: close").
            sending = asyncio.create_task(_pipe(reader, upstream))
            try:
                response_head = await up_reader.readuntil(b"\r\n\r\n")
            finally:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
            writer.write(_close_after(response_head))
            await _splice(reader, upstream, up_reader, writer)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            ConnectionError,
        ):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
            await _close(writer)
            if upstream is not None:
                await _close(upstream)

    async def _connect(
        self, checked: CheckedTarget
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(str(checked.ip), checked.port)
        except (OSError, TimeoutError):
            return None
        self.allowed.append(f"{checked.host}:{checked.port}")
        return reader, writer


def _origin_form(head: bytes, method: str, checked: CheckedTarget, version: str) -> bytes:
    """Rewrite ``GET http://h/p HTTP/1.1`` + headers into ``GET /p HTTP/1.1``, one request per
    connection (``Connection: close``) so a kept-alive browser socket cannot reach another host."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")[1:]
    kept = [ln for ln in lines if ln.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS]
    if not any(ln.split(b":", 1)[0].strip().lower() == b"host" for ln in kept):
        kept.insert(0, b"Host: " + checked.host_header.encode())
    start = f"{method} {checked.target} {version}".encode("latin-1")
    return b"\r\n".join([start, *kept, b"Connection: close", b"", b""])


def _close_after(head: bytes) -> bytes:
    """The upstream response head with ``Connection: close``: the browser must not reuse this
    proxy connection for a request to another host (it would reach the first host's address)."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    kept = [lines[0]] + [
        ln for ln in lines[1:] if ln.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS
    ]
    return b"\r\n".join([*kept, b"Connection: close", b"", b""])
