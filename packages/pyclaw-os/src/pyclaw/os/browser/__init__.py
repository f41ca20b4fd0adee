"""The ``browser`` tool (extra ``pyclaw-os[browser]``): Playwright driving the system Chromium.

Playwright is imported only when a browser is first launched, so importing this package is cheap
and works without the extra (the tool then reports how to install it).
"""

from pyclaw.os.browser._launch import (
    CHROMIUM_ARGS,
    BrowserSettings,
    BrowserUnavailableError,
    find_chromium,
)
from pyclaw.os.browser._manager import BrowserManager, BrowserSession
from pyclaw.os.browser._proxy import GuardProxy
from pyclaw.os.browser._tool import BrowserArgs, BrowserTool, browser_tool

__all__ = [
    "CHROMIUM_ARGS",
    "BrowserArgs",
    "BrowserManager",
    "BrowserSession",
    "BrowserSettings",
    "BrowserTool",
    "BrowserUnavailableError",
    "GuardProxy",
    "browser_tool",
    "find_chromium",
]
