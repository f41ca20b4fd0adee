"""The browser's guarding proxy on its own (no Playwright needed): CONNECT and absolute-form."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from pyclaw_os_fakes import LoopbackHTTPServer

from pyclaw.os._netguard import HostAllowList, NetGuard, NetPolicy, StaticResolver
from pyclaw.os.browser import GuardProxy


class Origin:
    """A plain HTTP server that records the request lines and Host headers it sees."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append((self.requestline, self.headers.get("Host", "")))
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.send_header("Connection", "keep-alive")
                self.end_headers()
                self.wfile.write(b"hello")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackHTTPServer(Handler)
        self.port = self._server.port

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    o = Origin()
    yield o
    o.close()


@pytest.fixture
async def proxy() -> AsyncIterator[GuardProxy]:
    policy = NetPolicy(allow_hosts=HostAllowList.parse(["site.test"]), settings_key="tools.browser")
    guard = NetGuard(policy, StaticResolver({"site.test": ["127.0.0.1"], "lan.test": ["10.1.2.3"]}))
    p = GuardProxy(lambda: guard)
    await p.start()
    yield p
    await p.aclose()


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    """One response, framed by Content-Length, as a browser reads it (then it hangs up)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


async def exchange(proxy: GuardProxy, data: bytes, then: bytes = b"") -> bytes:
    host, port = proxy.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        if then:  # CONNECT: the tunnel's answer, then a request through it
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(then)
            return head + await _read_response(reader)
        return await _read_response(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_absolute_form_is_pinned_and_rewritten(proxy: GuardProxy, origin: Origin) -> None:
    url = f"http://site.test:{origin.port}/page?x=1"
    answer = await exchange(
        proxy,
        f"GET {url} HTTP/1.1\r\nHost: site.test:{origin.port}\r\n"
        "Proxy-Connection: keep-alive\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.0 200")
    assert b"\r\nConnection: close\r\n" in answer
    assert b"keep-alive" not in answer.lower()
    assert answer.endswith(b"hello")
    assert origin.seen == [("GET /page?x=1 HTTP/1.1", f"site.test:{origin.port}")]
    assert proxy.allowed == [f"site.test:{origin.port}"]


async def test_connect_tunnels_to_the_checked_ip(proxy: GuardProxy, origin: Origin) -> None:
    answer = await exchange(
        proxy,
        f"CONNECT site.test:{origin.port} HTTP/1.1\r\nHost: site.test:{origin.port}\r\n\r\n".encode(),
        then=b"GET /tunnel HTTP/1.0\r\nHost: site.test\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.0 200")
    assert answer.endswith(b"hello")
    assert origin.seen[0][0] == "GET /tunnel HTTP/1.0"


@pytest.mark.parametrize(
    ("request_line", "reason"),
    [
        ("CONNECT 127.0.0.1:{port} HTTP/1.1", "127.0.0.1 is a loopback address"),
        ("CONNECT lan.test:443 HTTP/1.1", "lan.test resolves to 10.1.2.3"),
        ("CONNECT [::ffff:127.0.0.1]:{port} HTTP/1.1", "IPv4-mapped"),
        ("GET http://2130706433:{port}/ HTTP/1.1", "127.0.0.1 is a loopback address"),
        ("GET http://169.254.169.254/latest/ HTTP/1.1", "cloud metadata"),
        ("GET /relative HTTP/1.1", "only http and https"),
    ],
)
async def test_refusals_get_403_and_no_connection(
    proxy: GuardProxy, origin: Origin, request_line: str, reason: str
) -> None:
    line = request_line.format(port=origin.port)
    answer = await exchange(proxy, f"{line}\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"X-PyClaw-Blocked: 1" in answer
    assert reason in answer.decode()
    assert reason in proxy.blocked[-1]
    assert origin.seen == []
    assert proxy.allowed == []
