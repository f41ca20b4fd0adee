"""The control socket over a real Unix socket: framing, errors, limits, stale files, shutdown."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from pyclaw.meta import UsageError
from pyclaw.runtime._control import (
    MAX_REQUEST_LINE,
    ControlConnection,
    ControlError,
    ControlServer,
    DaemonAlreadyRunning,
    DaemonNotRunning,
    DaemonRequestError,
    JsonObject,
    ReplyStream,
    control_request,
    control_stream,
    daemon_running,
)
from pyclaw.runtime._home import PyClawHome


class Handler:
    """Answers ``ping``, echoes the size of ``echo``'s ``pad``, streams ``count``, fails on ``boom``,
    waits on ``hang`` (until cancelled) and reports what ``talk`` receives back."""

    def __init__(self) -> None:
        self.seen: list[JsonObject] = []
        self.talk: list[JsonObject | None] = []
        self.hanging = asyncio.Event()
        self.cancelled = False
        self.flood_sent: int | None = None
        self.flood_closed = asyncio.Event()

    async def handle(self, request: JsonObject, reply: ReplyStream) -> None:
        self.seen.append(request)
        op = request.get("op")
        if op == "ping":
            await reply.send({"ok": True, "pid": 1, "started_at": "now", "version": "t"})
        elif op == "echo":
            await reply.send({"ok": True, "size": len(str(request.get("pad")))})
        elif op == "count":
            for i in range(3):
                await reply.send({"event": "n", "i": i})
        elif op == "boom":
            raise UsageError("no such agent 'x'")
        elif op == "crash":
            raise ZeroDivisionError("division by zero")
        elif op == "talk":
            await reply.send({"event": "ask"})
            self.talk.append(await reply.receive())
            await reply.send({"event": "thanks"})
            self.talk.append(await reply.receive())  # the client closed: None
        elif op == "flood":
            sent = 0
            while await reply.send({"event": "text", "delta": "x" * 1000}) and sent < 100_000:
                sent += 1
                await asyncio.sleep(0)
            self.flood_sent = sent
            assert reply.closed
            self.flood_closed.set()
        elif op == "hang":
            self.hanging.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise


@pytest.fixture
def home(tmp_path: Path) -> PyClawHome:
    return PyClawHome.at(tmp_path / "h")


async def test_ping_round_trip_and_private_modes(home: PyClawHome) -> None:
    assert not daemon_running(home)
    async with ControlServer(home.control_socket, Handler()):
        reply = await control_request(home.control_socket, {"op": "ping"}, timeout=5)
        assert reply == {"ok": True, "pid": 1, "started_at": "now", "version": "t"}
        assert await asyncio.to_thread(daemon_running, home)
        mode = home.control_socket.stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
        assert stat.S_IMODE(home.run_dir.stat().st_mode) == 0o700
    assert not home.control_socket.exists()  # removed on close
    assert not daemon_running(home)


async def test_a_stream_ends_when_the_handler_returns(home: PyClawHome) -> None:
    async with ControlServer(home.control_socket, Handler()):
        got = [m async for m in control_stream(home.control_socket, {"op": "count"})]
    assert got == [{"event": "n", "i": 0}, {"event": "n", "i": 1}, {"event": "n", "i": 2}]


async def test_follow_up_lines_reach_the_handler_on_the_same_connection(
    home: PyClawHome,
) -> None:
    handler = Handler()
    async with ControlServer(home.control_socket, handler):
        async with ControlConnection(home.control_socket) as conn:
            await conn.send({"op": "talk"})
            assert await conn.receive(5) == {"event": "ask"}
            await conn.send({"op": "approve", "request_id": "apr_1", "verdict": "allow"})
            assert await conn.receive(5) == {"event": "thanks"}
        await asyncio.sleep(0.05)
    assert handler.talk == [{"op": "approve", "request_id": "apr_1", "verdict": "allow"}, None]


async def test_handler_errors_become_error_replies_and_the_server_keeps_serving(
    home: PyClawHome, caplog: pytest.LogCaptureFixture
) -> None:
    async with ControlServer(home.control_socket, Handler()):
        with pytest.raises(DaemonRequestError) as refused:
            await control_request(home.control_socket, {"op": "boom"}, timeout=5)
        assert str(refused.value) == "no such agent 'x'"
        assert refused.value.remote_type == "UsageError"
        assert refused.value.exit_code == 2  # that of pyclaw.meta.UsageError
        with pytest.raises(DaemonRequestError) as crashed:
            await control_request(home.control_socket, {"op": "crash"}, timeout=5)
        assert crashed.value.remote_type == "ZeroDivisionError"
        assert crashed.value.exit_code == 1
        assert (await control_request(home.control_socket, {"op": "ping"}, timeout=5))["ok"]
    assert "control request 'crash' failed" in caplog.text


def _raw(path: Path, data: bytes) -> list[dict[str, Any]]:
    """Send raw bytes, half-close, and read every reply line (blocking)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return [json.loads(line) for line in b"".join(chunks).splitlines()]


async def test_a_line_over_one_mebibyte_is_refused(home: PyClawHome) -> None:
    handler = Handler()
    path = home.control_socket
    async with ControlServer(path, handler):
        head = b'{"op":"echo","pad":"'
        fits = head + b"x" * (MAX_REQUEST_LINE - len(head) - 2) + b'"}'
        assert len(fits) == MAX_REQUEST_LINE
        (ok,) = await asyncio.to_thread(_raw, path, fits + b"\n")
        assert ok == {"ok": True, "size": MAX_REQUEST_LINE - len(head) - 2}
        (refused,) = await asyncio.to_thread(_raw, path, fits[:-2] + b'x"}\n')
        assert refused["ok"] is False
        assert refused["error"]["type"] == "ControlProtocolError"
        assert "longer than 1048576 bytes" in refused["error"]["message"]
        (garbage,) = await asyncio.to_thread(_raw, path, b"[1, 2]\n")
        assert garbage["error"]["message"] == "a control message must be a JSON object"
        assert (await control_request(path, {"op": "ping"}, timeout=5))["ok"]
    assert [r.get("op") for r in handler.seen] == ["echo", "ping"]


async def test_a_stale_socket_file_is_replaced(home: PyClawHome) -> None:
    home.run_dir.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(home.control_socket))  # a daemon that died without cleaning up
    dead.close()
    assert home.control_socket.exists()
    assert not daemon_running(home)
    with pytest.raises(DaemonNotRunning, match="no daemon is running"):
        await control_request(home.control_socket, {"op": "ping"}, timeout=5)
    async with ControlServer(home.control_socket, Handler()):
        assert (await control_request(home.control_socket, {"op": "ping"}, timeout=5))["ok"]


async def test_a_live_socket_is_not_taken_over(home: PyClawHome) -> None:
    handler = Handler()
    async with ControlServer(home.control_socket, handler):
        second = ControlServer(home.control_socket, Handler())
        with pytest.raises(DaemonAlreadyRunning):
            await second.start()
        assert (await control_request(home.control_socket, {"op": "ping"}, timeout=5))["ok"]
    home.control_socket.parent.mkdir(parents=True, exist_ok=True)
    home.control_socket.write_text("not a socket")
    with pytest.raises(ControlError, match="is not a socket"):
        await ControlServer(home.control_socket, Handler()).start()


async def test_no_daemon(home: PyClawHome) -> None:
    with pytest.raises(DaemonNotRunning) as missing:
        await control_request(home.control_socket, {"op": "ping"}, timeout=5)
    assert str(missing.value).startswith(f"no daemon is running (nothing listens on {home.run_dir}")
    with pytest.raises(DaemonNotRunning):
        async with ControlConnection(home.control_socket):
            pass
    assert not daemon_running(home)


async def test_close_cancels_requests_in_flight(home: PyClawHome) -> None:
    handler = Handler()
    server = ControlServer(home.control_socket, handler)
    await server.start()
    async with ControlConnection(home.control_socket) as conn:
        await conn.send({"op": "hang"})
        await asyncio.wait_for(handler.hanging.wait(), 5)
        await server.close()
        assert await conn.receive(5) is None  # closed without a reply
    assert handler.cancelled
    assert not home.control_socket.exists()
    await server.close()  # idempotent


async def test_a_client_that_leaves_is_noticed_by_the_handler(home: PyClawHome) -> None:
    handler = Handler()
    async with ControlServer(home.control_socket, handler):
        async with ControlConnection(home.control_socket) as conn:
            await conn.send({"op": "flood"})
            assert await conn.receive(5) == {"event": "text", "delta": "x" * 1000}
        await asyncio.wait_for(handler.flood_closed.wait(), 5)
    assert handler.flood_sent is not None
    assert handler.flood_sent < 100_000  # send() said False once the client was gone


async def test_a_reply_timeout_is_one_clear_error(home: PyClawHome) -> None:
    handler = Handler()
    async with ControlServer(home.control_socket, handler):
        with pytest.raises(ControlError, match=r"did not answer within 0\.2 s"):
            await control_request(home.control_socket, {"op": "hang"}, timeout=0.2)


async def test_an_idle_connection_is_dropped(home: PyClawHome) -> None:
    server = ControlServer(home.control_socket, Handler(), request_timeout=0.2)
    async with server, ControlConnection(home.control_socket) as conn:
        assert await conn.receive(5) is None  # no request line in time: closed


def test_a_path_too_long_for_a_unix_socket_is_refused(tmp_path: Path) -> None:
    deep = PyClawHome.at(tmp_path / ("d" * 120))
    assert not daemon_running(deep)
    with pytest.raises(ControlError, match="too long for a Unix socket"):
        asyncio.run(ControlServer(deep.control_socket, Handler()).start())
