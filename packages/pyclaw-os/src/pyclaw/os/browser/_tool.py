"""The ``browser`` tool: open, click, fill, press, submit, extract_text, screenshot, close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pyclaw.meta import RiskLevel, ToolError
from pyclaw.os._netguard import NetGuard, Resolver
from pyclaw.os._netsettings import load_settings
from pyclaw.os._tool import Tool, ToolEnv, ToolOutput, ToolRun
from pyclaw.os.browser._launch import BrowserSettings
from pyclaw.os.browser._manager import BrowserManager, BrowserSession
from pyclaw.os.browser._proxy import BLOCKED_HEADER

if TYPE_CHECKING:
    from playwright.async_api import Page

Action = Literal["open", "click", "fill", "press", "submit", "extract_text", "screenshot", "close"]

_NEEDS: dict[str, tuple[str, ...]] = {
    "open": ("url",),
    "click": ("selector",),
    "fill": ("selector", "value"),
    "submit": ("selector",),
}

_SUBMIT_JS = """el => {
  const form = el instanceof HTMLFormElement ? el : (el.form || el.closest('form'));
  if (!form) throw new Error('no form at this selector');
  form.requestSubmit();
}"""


class BrowserArgs(BaseModel):
    """Arguments of ``browser``: one action on the session's page."""

    model_config = ConfigDict(extra="forbid")

    action: Action = Field(description="What to do on the page.")
    url: str | None = Field(default=None, description="For open: the http(s) URL.")
    selector: str | None = Field(
        default=None,
        description="CSS or Playwright selector (click, fill, press, submit, extract_text).",
    )
    value: str | None = Field(default=None, description="For fill: the text to type.")
    key: str = Field(default="Enter", description="For press: a key name such as Enter or Tab.")
    full_page: bool = Field(
        default=False, description="For screenshot: the whole page, not just the viewport."
    )

    @model_validator(mode="after")
    def _required_fields(self) -> Self:
        missing = [f for f in _NEEDS.get(self.action, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(missing)}")
        return self


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


async def _where(page: Page) -> str:
    try:
        title = await page.title()
    except Exception:  # noqa: BLE001 - a page mid-navigation has no title yet
        title = ""
    return f"{page.url}" + (f" (title: {title!r})" if title else "")


class BrowserTool(Tool[BrowserArgs]):
    """``browser``: drives the system Chromium through Playwright; one page per session, kept
    between calls. All traffic passes an SSRF-guarding proxy (same rules as ``http_fetch``)."""

    name = "browser"
    description = (
        "Control a headless web browser. Actions: open(url), click(selector), fill(selector, value), "
        "press(key, optional selector), submit(selector of a form or a field in it), "
        "extract_text(optional selector), screenshot(full_page), close. The page stays open "
        "between calls of the same session."
    )
    args_model = BrowserArgs
    risk = RiskLevel.RISKY
    untrusted = True
    timeout_s = 90.0

    def __init__(self, *, resolver: Resolver | None = None) -> None:
        self._resolver = resolver
        self._manager: BrowserManager | None = None

    @property
    def manager(self) -> BrowserManager | None:
        return self._manager

    def _manager_for(self, settings: BrowserSettings) -> BrowserManager:
        if self._manager is None:
            self._manager = BrowserManager(
                executable_path=settings.executable_path,
                headless=settings.headless,
                extra_args=settings.extra_args,
                idle_timeout_s=settings.idle_timeout_s,
            )
        self._manager.idle_timeout_s = settings.idle_timeout_s
        return self._manager

    async def run(self, args: BrowserArgs, run: ToolRun) -> ToolOutput:
        settings = load_settings(BrowserSettings, self.name, run.env.settings_for(self.name))
        guard = NetGuard(settings.policy(self.name), self._resolver)
        manager = self._manager_for(settings)
        if args.action == "close":
            closed = await manager.close_session(run.context.session_id)
            return ToolOutput("Browser closed." if closed else "No browser was open.")
        if args.action == "open":
            await guard.check(args.url or "")  # a clear refusal before Chromium is involved
        session = await manager.session(run.context.session_id, guard)
        async with session.lock:
            seen = len(session.proxy.blocked)
            try:
                output = await self._act(args, session, settings, run.env)
            except ToolError:
                raise
            except Exception as exc:
                blocked = session.proxy.blocked[seen:]
                if blocked:
                    raise ToolError(f"{args.action} failed: {blocked[0]}") from exc
                raise ToolError(f"{args.action} failed: {_first_line(exc)}") from exc
            finally:
                manager.touch(session)
            blocked = session.proxy.blocked[seen:]
        if blocked:
            notes = "\n".join(f"- {b}" for b in blocked[:10])
            output = ToolOutput(
                f"{output.content}\nBlocked requests:\n{notes}",
                artifacts=output.artifacts,
                untrusted=True,
            )
        return output

    async def _act(
        self, args: BrowserArgs, session: BrowserSession, settings: BrowserSettings, env: ToolEnv
    ) -> ToolOutput:
        page = session.page
        ms = settings.action_timeout_s * 1000
        nav_ms = settings.navigation_timeout_s * 1000
        match args.action:
            case "submit":
                return await self._submit(page, args.selector or "", ms, nav_ms)
            case "screenshot":
                return await self._screenshot(page, args.full_page, ms, env)
            case "open":
                response = await page.goto(args.url or "", wait_until="load", timeout=nav_ms)
                if response is not None and await response.header_value(BLOCKED_HEADER):
                    raise ToolError(f"open failed: {session.proxy.blocked[-1]}")
                status = f"HTTP {response.status}, " if response is not None else ""
                message = f"Opened ({status}now at) {await _where(page)}"
            case "click":
                await page.click(args.selector or "", timeout=ms)
                await page.wait_for_load_state("load", timeout=nav_ms)
                message = f"Clicked {args.selector}; now at {await _where(page)}"
            case "fill":
                await page.fill(args.selector or "", args.value or "", timeout=ms)
                message = f"Filled {args.selector}."
            case "press":
                if args.selector:
                    await page.press(args.selector, args.key, timeout=ms)
                else:
                    await page.keyboard.press(args.key)
                await page.wait_for_load_state("load", timeout=nav_ms)
                message = f"Pressed {args.key}; now at {await _where(page)}"
            case "extract_text":
                selector = args.selector or "body"
                text = await page.inner_text(selector, timeout=ms)
                message = f"Text of {selector} at {page.url}:\n\n{text}"
            case "close":  # handled before a session is opened
                raise ToolError("close is handled by run()")
        return ToolOutput(message, untrusted=True)

    async def _submit(self, page: Page, selector: str, ms: float, nav_ms: float) -> ToolOutput:
        from playwright.async_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

        before = page.url
        try:
            async with page.expect_navigation(wait_until="load", timeout=nav_ms):
                await page.locator(selector).first.evaluate(_SUBMIT_JS, timeout=ms)
        except PlaywrightTimeout:
            if page.url == before:  # a script handled the submit without navigating
                return ToolOutput(
                    f"Submitted {selector}; the page did not navigate.", untrusted=True
                )
            raise
        return ToolOutput(f"Submitted {selector}; now at {await _where(page)}", untrusted=True)

    async def _screenshot(self, page: Page, full_page: bool, ms: float, env: ToolEnv) -> ToolOutput:
        if env.artifacts is None:
            raise ToolError("screenshot needs an artifact store, and none is configured")
        png = await page.screenshot(type="png", full_page=full_page, timeout=ms)
        ref = await env.artifacts.put(png, media_type="image/png", name="screenshot.png")
        return ToolOutput(
            f"Screenshot of {page.url} ({len(png)} bytes PNG) stored as {ref.uri}",
            artifacts=(ref,),
            untrusted=True,
        )

    async def aclose(self) -> None:
        """Close Chromium and every session's context (call on host shutdown)."""
        if self._manager is not None:
            await self._manager.aclose()


def browser_tool(env: ToolEnv) -> BrowserTool:
    """A ``ToolFactory`` for the built-in ``browser`` (settings are read per call from ``env``)."""
    del env
    return BrowserTool()
