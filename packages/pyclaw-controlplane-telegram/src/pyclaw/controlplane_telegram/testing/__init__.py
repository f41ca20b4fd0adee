"""Test helpers: ``FakeTelegramServer`` (a Bot API on 127.0.0.1) and Telegram's HTML checker.

Uses the stdlib only, so any test (this package's, the runtime's) can run PTB against it.
"""

from pyclaw.controlplane_telegram.testing._fake import TEST_TOKEN, FakeTelegramServer, wait_until
from pyclaw.controlplane_telegram.testing._html import HtmlParseError, parse_html, strip_html
from pyclaw.controlplane_telegram.testing._http import ApiError
from pyclaw.controlplane_telegram.testing._sink import RecordingSink
from pyclaw.controlplane_telegram.testing._state import ApiCall, Fault, SentMessage

__all__ = [
    "TEST_TOKEN",
    "ApiCall",
    "ApiError",
    "FakeTelegramServer",
    "Fault",
    "HtmlParseError",
    "RecordingSink",
    "SentMessage",
    "parse_html",
    "strip_html",
    "wait_until",
]
