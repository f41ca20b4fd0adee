"""Errors of the Telegram channel, each a ``PyClawError`` with a one-line message."""

from __future__ import annotations

from pyclaw.meta import NotFoundError, PyClawError


class TelegramError(PyClawError):
    """A Telegram Bot API call failed for good (after the retries it deserved)."""

    def __init__(self, message: str, *, method: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.method = method


class TelegramConflictError(TelegramError):
    """``getUpdates`` answered 409: another instance polls this bot, or a webhook is set."""

    exit_code = 3


class TelegramAuthError(TelegramError):
    """Telegram refused the bot token (401/404)."""

    exit_code = 2


class PairingNotFoundError(NotFoundError):
    """No pending pairing has this code (unknown, already used, or expired)."""
