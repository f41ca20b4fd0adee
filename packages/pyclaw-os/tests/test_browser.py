"""browser: the system Chromium through Playwright, against a form served on 127.0.0.1.

Skipped only when Playwright is not importable (the per-package run without the ``browser``
extra); in the full run Chromium must be installed (``apt-get install chromium``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
from pyclaw_os_fakes import LoopbackHTTPServer, MemoryArtifacts
from pydantic import JsonValue

from pyclaw.meta import RiskLevel, ToolContext, ToolError
from pyclaw.os._netguard import NetworkBlockedError, StaticResolver
from pyclaw.os._tool import ToolEnv, ToolRun
from pyclaw.os.browser import BrowserArgs, BrowserTool, find_chromium

pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pyclaw-os[browser] extra)"
)


class Site:
    """A form page, its result page, a link and a redirect to a 'secret' loopback page."""

    def __init__(self) -> None:
        self.posts: list[dict[str, list[str]]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, html: str, headers: Mapping[str, str] = {}) -> None:
                data = html.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/favicon.ico":  # Chromium asks on its own
                    self._send(404, "")
                    return
                outer.paths.append(self.path)
                secret = f"http://127.0.0.1:{outer.port}/secret"
                pages = {
                    "/form": '<title>Form</title><form action="/submit" method="post">'
                    '<input id="q" name="q"><button id="go" type="submit">Go</button></form>',
                    "/link": f'<title>Link</title><a id="l" href="{secret}">secret</a>',
                    "/secret": "<p>the secret</p>",
                }
                if self.path == "/redirect-internal":
                    self._send(302, "", {"Location": secret})
                elif self.path in pages:
                    self._send(200, pages[self.path])
                else:
                    self._send(404, "<p>not found</p>")

            def do_POST(self) -> None:
                outer.paths.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                outer.posts.append(form)
                sent = escape(form.get("q", [""])[0])
                self._send(200, f'<title>Result</title><h1 id="result">You sent: {sent}</h1>')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackHTTPServer(Handler)
        self.port = self._server.port

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


# One Chromium for the whole module (starting Playwright and Chromium takes seconds); each test
# uses its own session id, so its own browser context and guarding proxy.
module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tool() -> AsyncIterator[BrowserTool]:
    t = BrowserTool(resolver=StaticResolver({"page.test": ["127.0.0.1"]}))
    yield t
    await t.aclose()


def make_run(
    tmp_path: Path,
    settings: Mapping[str, JsonValue],
    artifacts: MemoryArtifacts | None = None,
    *,
    session: str,
) -> ToolRun:
    env = ToolEnv(workspace=tmp_path, artifacts=artifacts, settings={"browser": dict(settings)})
    return ToolRun(context=ToolContext(session_id=session, agent="main"), env=env)


async def act(tool: BrowserTool, run: ToolRun, **args: Any) -> str:
    return (await tool.run(BrowserArgs(**args), run)).content


def test_chromium_is_found() -> None:
    assert Path(find_chromium()).name.startswith(("chromium", "google-chrome"))


@module_loop
async def test_form_fill_click_extract_screenshot(
    tool: BrowserTool, site: Site, tmp_path: Path
) -> None:
    assert tool.spec().risk is RiskLevel.RISKY
    store = MemoryArtifacts()
    run = make_run(tmp_path, {"allow_private": True}, store, session="ses_form")
    base = f"http://127.0.0.1:{site.port}"
    opened = await act(tool, run, action="open", url=f"{base}/form")
    assert opened == f"Opened (HTTP 200, now at) {base}/form (title: 'Form')"
    await act(tool, run, action="fill", selector="#q", value="hello pyclaw")
    clicked = await act(tool, run, action="click", selector="#go")
    assert f"now at {base}/submit" in clicked
    assert site.posts == [{"q": ["hello pyclaw"]}]
    out = await tool.run(BrowserArgs(action="extract_text", selector="#result"), run)
    assert out.untrusted
    assert out.content.endswith("You sent: hello pyclaw")
    shot = await tool.run(BrowserArgs(action="screenshot"), run)
    [ref] = shot.artifacts
    assert ref.media_type == "image/png"
    assert store.blobs[ref.sha256].startswith(b"\x89PNG\r\n\x1a\n")
    assert ref.uri in shot.content
    # The same page is kept between calls; submit works on a field inside the form.
    await act(tool, run, action="open", url=f"{base}/form")
    await act(tool, run, action="fill", selector="#q", value="second")
    submitted = await act(tool, run, action="submit", selector="#q")
    assert "now at" in submitted
    assert site.posts[-1] == {"q": ["second"]}
    manager = tool.manager
    assert manager is not None
    assert "ses_form" in manager.session_ids
    session = manager.get("ses_form")
    assert session is not None
    assert f"127.0.0.1:{site.port}" in session.proxy.allowed  # traffic went through the guard


@module_loop
async def test_navigation_to_loopback_is_refused_everywhere(
    tool: BrowserTool, site: Site, tmp_path: Path
) -> None:
    run = make_run(tmp_path, {"allow_hosts": ["page.test"]}, session="ses_nav")
    base = f"http://page.test:{site.port}"
    # page.test is known only to the tool's resolver: loading it proves the proxy pinned it.
    assert "title: 'Link'" in await act(tool, run, action="open", url=f"{base}/link")
    clicked = await tool.run(BrowserArgs(action="click", selector="#l"), run)
    assert "Blocked requests:" in clicked.content
    assert "127.0.0.1 is a loopback address" in clicked.content
    with pytest.raises(ToolError, match=r"127\.0\.0\.1 is a loopback address"):
        await act(tool, run, action="open", url=f"{base}/redirect-internal")
    with pytest.raises(NetworkBlockedError, match="loopback"):
        await act(tool, run, action="open", url=f"http://127.0.0.1:{site.port}/secret")
    assert "/secret" not in site.paths
    assert site.paths == ["/link", "/redirect-internal"]


@module_loop
async def test_refused_open_opens_no_context(tool: BrowserTool, site: Site, tmp_path: Path) -> None:
    run = make_run(tmp_path, {}, session="ses_refused")
    for url in (f"http://127.0.0.1:{site.port}/form", "file:///etc/passwd", "http://[::1]/"):
        with pytest.raises(NetworkBlockedError):
            await act(tool, run, action="open", url=url)
    assert site.paths == []
    assert tool.manager is not None
    assert "ses_refused" not in tool.manager.session_ids


@module_loop
async def test_idle_sessions_are_closed(tool: BrowserTool, site: Site, tmp_path: Path) -> None:
    run = make_run(tmp_path, {"allow_private": True}, session="ses_idle")
    await act(tool, run, action="open", url=f"http://127.0.0.1:{site.port}/form")
    manager = tool.manager
    assert manager is not None
    assert "ses_idle" not in await manager.reap_idle()  # just used
    saved, manager.idle_timeout_s = manager.idle_timeout_s, 0
    try:
        assert "ses_idle" in await manager.reap_idle()
    finally:
        manager.idle_timeout_s = saved
    assert manager.session_ids == []
    assert await act(tool, run, action="close") == "No browser was open."
    # The next call starts Chromium again.
    assert "title: 'Form'" in await act(
        tool, run, action="open", url=f"http://127.0.0.1:{site.port}/form"
    )
    assert await act(tool, run, action="close") == "Browser closed."


def test_action_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="action 'fill' needs selector, value"):
        BrowserArgs(action="fill")
    with pytest.raises(ValueError, match="action 'open' needs url"):
        BrowserArgs(action="open")
