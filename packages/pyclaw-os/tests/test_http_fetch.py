"""http_fetch: the SSRF table, redirects re-checked, DNS pinning, bodies, artifacts, settings."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyclaw_os_fakes import LoopbackHTTPServer, MemoryArtifacts
from pydantic import JsonValue

from pyclaw.meta import ConfigError, RiskLevel, ToolContext, ToolError
from pyclaw.os._http_fetch import HttpFetchArgs, HttpFetchTool
from pyclaw.os._netfetch import default_ssl_context
from pyclaw.os._netguard import NetworkBlockedError, StaticResolver
from pyclaw.os._tool import ToolEnv, ToolOutput, ToolRun

# --- a loopback HTTP server that records every request it sees ---------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict[str, str])
    body: bytes = b""
    delay: float = 0.0


class Server:
    """``routes`` maps a path to its response; ``seen`` lists the requests that arrived."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, with_body: bool) -> None:
                outer.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
                route = outer.routes.get(self.path, Route(404, {}, b"not found"))
                time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if with_body:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(route.body)  # the client may have given up (timeouts)

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackHTTPServer(Handler, tls)
        self.port = self._server.port

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to a real transport (or a handler) and records each one."""

    def __init__(self, handler: Any = None, verify: ssl.SSLContext | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._inner: httpx.AsyncBaseTransport = (
            httpx.MockTransport(handler)
            if handler is not None
            else httpx.AsyncHTTPTransport(verify=verify or default_ssl_context(), trust_env=False)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_run(
    tmp_path: Path,
    settings: Mapping[str, JsonValue] | None = None,
    artifacts: MemoryArtifacts | None = None,
) -> ToolRun:
    env = ToolEnv(
        workspace=tmp_path, artifacts=artifacts, settings={"http_fetch": dict(settings or {})}
    )
    return ToolRun(context=ToolContext(session_id="ses_1", agent="main"), env=env)


async def fetch(tool: HttpFetchTool, run: ToolRun, url: str, **kwargs: Any) -> ToolOutput:
    return await tool.run(HttpFetchArgs(url=url, **kwargs), run)


# --- the SSRF table ------------------------------------------------------------------------------

LITERAL_REFUSALS = [
    ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
    ("http://[::1]:{port}/", "::1 is a loopback address"),
    ("http://10.0.0.1:{port}/", "10.0.0.1 is a private address"),
    ("http://172.16.0.1/", "172.16.0.1 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fd00:ec2::254]/", "cloud metadata address"),
    ("http://[fc00::1]/", "private address"),
    ("http://[fe80::1]/", "link-local address"),
    ("http://224.0.0.1/", "multicast address"),
    ("http://0.0.0.0:{port}/", "unspecified address"),
    ("http://240.0.0.1/", "reserved address"),
    ("http://2130706433:{port}/", "127.0.0.1 is a loopback address"),
    ("http://0177.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
    ("http://0x7f000001:{port}/", "127.0.0.1 is a loopback address"),
    ("http://0x7f.1:{port}/", "127.0.0.1 is a loopback address"),
    ("http://127.1:{port}/", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/", "IPv4-mapped"),
    ("http://[::127.0.0.1]:{port}/", "IPv4-compatible"),
    ("http://[64:ff9b::7f00:1]:{port}/", "NAT64"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host name"),
    ("file:///etc/passwd", "only http and https"),
    ("gopher://127.0.0.1:{port}/_GET", "only http and https"),
    ("ftp://example.com/", "only http and https"),
    ("http://1.2.3.4.5/", "not a valid host"),
    ("http://example.com@127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
    ("HTTP://LOCALHOST.:{port}/", "localhost resolves to 127.0.0.1"),
]


@pytest.mark.parametrize(("url", "reason"), LITERAL_REFUSALS)
async def test_refused_targets_get_no_connection(
    server: Server, tmp_path: Path, url: str, reason: str
) -> None:
    transport = RecordingTransport()
    resolver = StaticResolver({"localhost": ["127.0.0.1", "::1"]})
    tool = HttpFetchTool(resolver=resolver, transport=transport)
    with pytest.raises(NetworkBlockedError) as caught:
        await fetch(tool, make_run(tmp_path), url.format(port=server.port))
    assert reason in str(caught.value)
    assert "\n" not in caught.value.message
    assert transport.requests == []
    assert server.seen == []
    assert resolver.lookups in ([], ["localhost"])  # literals and bad schemes never reach DNS
    await transport.aclose()


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["10.0.0.1"], "internal.test resolves to 10.0.0.1; 10.0.0.1 is a private address"),
        (["93.184.216.34", "127.0.0.1"], "resolves to 127.0.0.1; 127.0.0.1 is a loopback"),
        (["2606:4700::1", "::ffff:192.168.0.1"], "192.168.0.1 is a private address"),
    ],
)
async def test_every_resolved_address_is_checked(
    tmp_path: Path, answers: list[str], reason: str
) -> None:
    transport = RecordingTransport(handler=lambda r: httpx.Response(200))
    tool = HttpFetchTool(resolver=StaticResolver({"internal.test": answers}), transport=transport)
    with pytest.raises(NetworkBlockedError, match=reason):
        await fetch(tool, make_run(tmp_path), "http://internal.test/")
    assert transport.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "//internal.test:{port}/secret",
    ],
)
async def test_redirect_to_a_refused_target_is_not_followed(
    server: Server, tmp_path: Path, location: str
) -> None:
    server.routes["/go"] = Route(302, {"Location": location.format(port=server.port)})
    server.routes["/secret"] = Route(200, {"Content-Type": "text/plain"}, b"secret")
    resolver = StaticResolver({"allowed.test": ["127.0.0.1"], "internal.test": ["127.0.0.1"]})
    tool = HttpFetchTool(resolver=resolver)
    run = make_run(tmp_path, {"allow_hosts": ["allowed.test"]})
    with pytest.raises(NetworkBlockedError, match="refused"):
        await fetch(tool, run, f"http://allowed.test:{server.port}/go")
    assert [s.path for s in server.seen] == ["/go"]
    assert server.seen[0].headers["Host"] == f"allowed.test:{server.port}"


async def test_dns_rebinding_connects_to_the_checked_address(tmp_path: Path) -> None:
    class Rebinding(StaticResolver):
        """First a public answer, then a private one (a rebinding attacker's DNS)."""

        def __init__(self) -> None:
            super().__init__({})
            self.answers = [["93.184.216.34"], ["127.0.0.1"]]

        async def resolve(self, host: str, port: int) -> Any:
            self.lookups.append(host)
            return [ipaddress.ip_address(a) for a in self.answers[len(self.lookups) - 1]]

    transport = RecordingTransport(handler=lambda r: httpx.Response(200, text="public page"))
    resolver = Rebinding()
    tool = HttpFetchTool(resolver=resolver, transport=transport)
    out = await fetch(tool, make_run(tmp_path), "https://rebind.test/path?q=1")
    assert "public page" in out.content
    assert resolver.lookups == ["rebind.test"]  # resolved once, never again
    [request] = transport.requests
    assert str(request.url) == "https://93.184.216.34/path?q=1"
    assert request.headers["Host"] == "rebind.test"
    assert request.extensions["sni_hostname"] == "rebind.test"
    # The next call gets the attacker's second answer and is refused before connecting.
    with pytest.raises(NetworkBlockedError, match=r"rebind\.test resolves to 127\.0\.0\.1"):
        await fetch(tool, make_run(tmp_path), "https://rebind.test/path")
    assert len(transport.requests) == 1


async def test_pinned_to_the_checked_ip_on_a_real_socket(server: Server, tmp_path: Path) -> None:
    """The name is only known to the fake resolver: a connection by name would fail."""
    server.routes["/page"] = Route(200, {"Content-Type": "text/plain"}, b"pinned ok")
    resolver = StaticResolver({"pinned.test": ["127.0.0.1"]})
    tool = HttpFetchTool(resolver=resolver)
    run = make_run(tmp_path, {"allow_hosts": ["127.0.0.1"]})
    out = await fetch(tool, run, f"http://pinned.test:{server.port}/page")
    assert out.content.endswith("pinned ok")
    assert server.seen[0].headers["Host"] == f"pinned.test:{server.port}"


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=pinned.test"),
            *("-addext", "subjectAltName=DNS:pinned.test"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_pinned_to_ip_verifies_the_certificate_for_the_name(
    tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    srv = Server(tls=server_ctx)
    try:
        srv.routes["/"] = Route(200, {"Content-Type": "text/plain"}, b"over tls")
        client_ctx = ssl.create_default_context(cafile=str(cert))
        transport = RecordingTransport(verify=client_ctx)
        resolver = StaticResolver({"pinned.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        tool = HttpFetchTool(resolver=resolver, transport=transport)
        run = make_run(tmp_path, {"allow_private": True})
        out = await fetch(tool, run, f"https://pinned.test:{srv.port}/")
        assert out.content.endswith("over tls")
        assert str(transport.requests[0].url).startswith("https://127.0.0.1:")
        # A name the certificate does not cover fails verification, even on the same IP.
        with pytest.raises(ToolError, match="could not connect"):
            await fetch(tool, run, f"https://other.test:{srv.port}/")
        await transport.aclose()
    finally:
        srv.close()


# --- fetching that is allowed -------------------------------------------------------------------


async def test_fetch_text_with_allow_private(server: Server, tmp_path: Path) -> None:
    server.routes["/hello"] = Route(
        200, {"Content-Type": "text/html; charset=utf-8"}, "<p>héllo</p>".encode()
    )
    tool = HttpFetchTool()
    assert tool.spec().risk is RiskLevel.MODERATE
    out = await fetch(
        tool,
        make_run(tmp_path, {"allow_private": True}),
        f"http://127.0.0.1:{server.port}/hello",
        headers={"X-Test": "1"},
    )
    assert out.untrusted
    assert out.content.startswith(f"HTTP 200 OK — GET http://127.0.0.1:{server.port}/hello")
    assert "Content-Type: text/html; charset=utf-8" in out.content
    assert out.content.endswith("<p>héllo</p>")
    assert server.seen[0].headers["X-Test"] == "1"


async def test_redirects_are_followed_and_reported(server: Server, tmp_path: Path) -> None:
    server.routes["/a"] = Route(301, {"Location": "/b"})
    server.routes["/b"] = Route(200, {"Content-Type": "text/plain"}, b"arrived")
    out = await fetch(
        HttpFetchTool(),
        make_run(tmp_path, {"allow_private": True}),
        f"http://127.0.0.1:{server.port}/a",
    )
    assert f"Redirected from: http://127.0.0.1:{server.port}/a" in out.content
    assert out.content.endswith("arrived")


async def test_credentials_are_dropped_on_cross_origin_redirect(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/a"] = Route(302, {"Location": f"http://other.test:{server.port}/b"})
    server.routes["/b"] = Route(200, {}, b"ok")
    resolver = StaticResolver({"one.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    run = make_run(tmp_path, {"allow_private": True})
    await fetch(
        HttpFetchTool(resolver=resolver),
        run,
        f"http://one.test:{server.port}/a",
        headers={"Authorization": "Bearer s3cret", "X-Keep": "yes"},
    )
    first, second = server.seen
    assert first.headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in second.headers
    assert second.headers["X-Keep"] == "yes"


async def test_redirect_loop_stops_after_five(server: Server, tmp_path: Path) -> None:
    server.routes["/loop"] = Route(302, {"Location": "/loop"})
    with pytest.raises(ToolError, match=r"too many redirects \(more than 5\)"):
        await fetch(
            HttpFetchTool(),
            make_run(tmp_path, {"allow_private": True}),
            f"http://127.0.0.1:{server.port}/loop",
        )
    assert len(server.seen) == 6


async def test_body_is_capped_and_gzip_bombs_stay_small(server: Server, tmp_path: Path) -> None:
    server.routes["/big"] = Route(200, {"Content-Type": "text/plain"}, b"x" * 5000)
    bomb = gzip.compress(b"A" * 20_000_000)
    server.routes["/bomb"] = Route(
        200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, bomb
    )
    run = make_run(tmp_path, {"allow_private": True})
    base = f"http://127.0.0.1:{server.port}"
    out = await fetch(HttpFetchTool(), run, f"{base}/big", max_bytes=100)
    assert "Body: 100 bytes (truncated at max_bytes=100)" in out.content
    assert out.content.endswith("\n\n" + "x" * 100)
    out = await fetch(HttpFetchTool(), run, f"{base}/bomb", max_bytes=1000)
    assert "Body: 1000 bytes (truncated" in out.content
    assert out.content.endswith("A" * 1000)


async def test_binary_body_goes_to_an_artifact(server: Server, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    server.routes["/img/logo.png"] = Route(200, {"Content-Type": "image/png"}, png)
    store = MemoryArtifacts()
    url = f"http://127.0.0.1:{server.port}/img/logo.png"
    out = await fetch(HttpFetchTool(), make_run(tmp_path, {"allow_private": True}, store), url)
    [ref] = out.artifacts
    assert ref.media_type == "image/png"
    assert ref.name == "logo.png"
    assert store.blobs[ref.sha256] == png
    assert ref.uri in out.content
    out = await fetch(HttpFetchTool(), make_run(tmp_path, {"allow_private": True}), url)
    assert out.artifacts == ()
    assert "Binary body (image/png) not shown" in out.content


async def test_head_returns_headers_only(server: Server, tmp_path: Path) -> None:
    server.routes["/h"] = Route(200, {"Content-Type": "text/plain"}, b"body")
    out = await fetch(
        HttpFetchTool(),
        make_run(tmp_path, {"allow_private": True}),
        f"http://127.0.0.1:{server.port}/h",
        method="HEAD",
    )
    assert server.seen[0].method == "HEAD"
    assert "Content-Length: 4" in out.content
    assert "body" not in out.content.split("\n", 1)[1]


async def test_forbidden_headers_and_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="header 'Host' cannot be set"):
        await fetch(HttpFetchTool(), make_run(tmp_path), "http://x.test/", headers={"Host": "a"})
    with pytest.raises(ConfigError, match=r"tools\.http_fetch\.allow_hosts"):
        await fetch(HttpFetchTool(), make_run(tmp_path, {"allow_hosts": ["a b"]}), "http://x.test/")
    with pytest.raises(ConfigError, match=r"tools\.http_fetch\.allow_privat"):
        await fetch(HttpFetchTool(), make_run(tmp_path, {"allow_privat": True}), "http://x.test/")


async def test_allow_hosts_does_not_open_metadata(tmp_path: Path) -> None:
    """A name on the allow list that resolves to the metadata address is still refused."""
    transport = RecordingTransport(handler=lambda r: httpx.Response(200))
    resolver = StaticResolver({"evil.test": ["169.254.169.254"]})
    run = make_run(tmp_path, {"allow_hosts": ["evil.test"], "allow_private": True})
    with pytest.raises(NetworkBlockedError, match="cloud metadata"):
        await fetch(HttpFetchTool(resolver=resolver, transport=transport), run, "http://evil.test/")
    assert transport.requests == []


async def test_host_keys_are_accepted_and_slow_servers_time_out(
    server: Server, tmp_path: Path
) -> None:
    server.routes["/slow"] = Route(200, {}, b"late", delay=2.0)
    settings: dict[str, JsonValue] = {
        "allow_private": True,
        "timeout_s": 30,  # read by the tool host, not by http_fetch
        "max_output_chars": 1000,
        "request_timeout_s": 0.3,
    }
    with pytest.raises(ToolError, match="timed out"):
        await fetch(
            HttpFetchTool(), make_run(tmp_path, settings), f"http://127.0.0.1:{server.port}/slow"
        )
