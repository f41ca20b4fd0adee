"""Finding and launching the system Chromium through Playwright (imported only when needed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from pyclaw.meta import ConfigError, ToolError
from pyclaw.os._netsettings import NetAccessSettings

if TYPE_CHECKING:
    from playwright.async_api import Playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_DISABLED_FEATURES = (
    # Playwright's own list (a later --disable-features replaces it, so it is repeated here).
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    # Chromium's own calls home, which would otherwise show up as the page's blocked requests.
    "AutofillServerCommunication",
    "Translate",
    "InterestFeedContentSuggestions",
    "CertificateTransparencyComponentUpdater",
    "DialMediaRouteProvider",
)

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-features=" + ",".join(_DISABLED_FEATURES),
)
"""Headless-server flags (OFFLINE.md), no DNS prefetch, and WebRTC kept off raw UDP so every
connection goes through the guarding proxy."""


class BrowserUnavailableError(ToolError):
    """No usable Chromium, or Playwright (the ``browser`` extra) is not installed."""


class BrowserSettings(NetAccessSettings):
    """``[tools.browser]``: access rules (as ``http_fetch``), Chromium path, timeouts."""

    executable_path: str | None = None
    headless: bool = True
    idle_timeout_s: float = Field(default=300.0, gt=0)
    action_timeout_s: float = Field(default=15.0, gt=0, le=300)
    navigation_timeout_s: float = Field(default=30.0, gt=0, le=300)
    extra_args: tuple[str, ...] = ()


def find_chromium(configured: str | None = None) -> str:
    """The Chromium to drive: ``executable_path`` when set, else the first one on ``PATH``."""
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(
                f"{configured} is not an executable file", key="tools.browser.executable_path"
            )
        return str(path)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailableError(
        "no Chromium found on PATH",
        hint="install it with `apt-get install chromium`, or set executable_path in [tools.browser]",
    )


async def start_playwright() -> Playwright:
    """Start the Playwright driver; a clear error when the ``browser`` extra is missing."""
    try:
        from playwright.async_api import async_playwright  # noqa: PLC0415 - optional, heavy
    except ImportError as exc:
        raise BrowserUnavailableError(
            "the browser tool needs Playwright", hint="pip install 'pyclaw-os[browser]'"
        ) from exc
    return await async_playwright().start()
