"""One Chromium, one browser context (and page) per PyClaw session, closed when idle.

Each context talks to the network only through its own ``GuardProxy`` (see ``_proxy.py``), so its
refusals are reported to the session that caused them. Chromium is launched on first use and
closed again once no session is left; ``aclose()`` closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyclaw.os._netguard import NetGuard
from pyclaw.os._netlimits import Clock
from pyclaw.os.browser._launch import CHROMIUM_ARGS, find_chromium, start_playwright
from pyclaw.os.browser._proxy import GuardProxy

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Playwright

_NO_OWN_DNS = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
"""Chromium resolves nothing itself: a name can only be reached through the proxy's resolver."""


@dataclass
class BrowserSession:
    """A session's browser context, its page and its guarding proxy."""

    session_id: str
    context: BrowserContext
    page: Page
    proxy: GuardProxy
    guard: NetGuard
    last_used: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BrowserManager:
    """Keeps Chromium and per-session contexts alive between tool calls."""

    def __init__(
        self,
        *,
        executable_path: str | None = None,
        headless: bool = True,
        extra_args: tuple[str, ...] = (),
        idle_timeout_s: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.executable_path = executable_path
        self.headless = headless
        self.extra_args = extra_args
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._sessions: dict[str, BrowserSession] = {}
        self._launch_lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None

    @property
    def session_ids(self) -> list[str]:
        return list(self._sessions)

    async def _ensure_browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        await self._close_browser()  # crashed or never started
        executable = find_chromium(self.executable_path)
        self._playwright = await start_playwright()
        self._browser = await self._playwright.chromium.launch(
            executable_path=executable,
            headless=self.headless,
            args=[*CHROMIUM_ARGS, _NO_OWN_DNS, *self.extra_args],
        )
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())
        return self._browser

    async def session(self, session_id: str, guard: NetGuard) -> BrowserSession:
        """The session's browser context, created on first use; ``guard`` applies from now on."""
        async with self._launch_lock:
            found = self._sessions.get(session_id)
            if found is not None and found.page.is_closed():
                await self.close_session(session_id)
                found = None
            if found is None:
                found = await self._open(session_id, guard)
                self._sessions[session_id] = found
        found.guard = guard
        found.last_used = self._clock()
        return found

    def get(self, session_id: str) -> BrowserSession | None:
        """The session's open browser context, if it has one."""
        return self._sessions.get(session_id)

    def touch(self, session: BrowserSession) -> None:
        """Mark a session as just used (it is then not idle)."""
        session.last_used = self._clock()

    async def _open(self, session_id: str, guard: NetGuard) -> BrowserSession:
        browser = await self._ensure_browser()
        holder: list[BrowserSession] = []
        proxy = GuardProxy(lambda: holder[0].guard if holder else guard)
        await proxy.start()
        try:
            context = await browser.new_context(
                proxy={"server": proxy.url},
                service_workers="block",
                accept_downloads=False,
                viewport={"width": 1280, "height": 800},
            )
            page = await context.new_page()
        except BaseException:
            await proxy.aclose()
            raise
        holder.append(BrowserSession(session_id, context, page, proxy, guard, self._clock()))
        return holder[0]

    async def close_session(self, session_id: str) -> bool:
        """Close one session's context; ``False`` when it had none."""
        found = self._sessions.pop(session_id, None)
        if found is None:
            return False
        with contextlib.suppress(Exception):  # the browser may already be gone
            await found.context.close()
        await found.proxy.aclose()
        return True

    async def reap_idle(self) -> list[str]:
        """Close sessions idle longer than ``idle_timeout_s`` (and Chromium when none is left)."""
        now = self._clock()
        idle = [
            sid
            for sid, s in self._sessions.items()
            if now - s.last_used >= self.idle_timeout_s and not s.lock.locked()
        ]
        for sid in idle:
            await self.close_session(sid)
        if not self._sessions:
            await self._close_browser()
        return idle

    async def _reap_forever(self) -> None:
        while self._browser is not None:
            await asyncio.sleep(min(self.idle_timeout_s / 2, 30.0))
            async with self._launch_lock:
                await self.reap_idle()

    async def _close_browser(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()

    async def aclose(self) -> None:
        """Close every session, Chromium and the Playwright driver."""
        reaper, self._reaper = self._reaper, None
        if reaper is not None and reaper is not asyncio.current_task():
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
        for sid in list(self._sessions):
            await self.close_session(sid)
        await self._close_browser()
