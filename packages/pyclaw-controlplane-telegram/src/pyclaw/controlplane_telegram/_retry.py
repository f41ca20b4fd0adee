"""Calling the Bot API: 429 ``retry_after`` honoured, network errors and 5xx retried with backoff.

PTB's errors come out as this package's ``TelegramError`` family, so callers see one clear line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.error import (
    TelegramError as PTBError,
)

from pyclaw.controlplane_telegram._errors import (
    TelegramAuthError,
    TelegramConflictError,
    TelegramError,
)

# PTB 22 warns (PTBDeprecationWarning) whenever it reads ``RetryAfter.retry_after`` as an int,
# even inside its own constructor. Opting in to the future ``timedelta`` form, as PTB documents,
# silences that; ``retry_after_seconds`` reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "true")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("pyclaw.controlplane_telegram")

MAX_RATE_LIMIT_WAITS = 20
"""A call answered 429 this many times in a row fails instead of waiting again."""

CONFLICT_HINT = "another instance is polling this bot, or a webhook is set"


class TelegramBadRequestError(TelegramError):
    """Telegram answered 400 (``description`` is its text, e.g. "message is too long")."""

    def __init__(self, description: str, *, method: str | None = None) -> None:
        super().__init__(f"Telegram {method or 'call'} failed: {description}", method=method)
        self.description = description

    @property
    def parse_error(self) -> bool:
        return "can't parse entities" in self.description.lower()

    @property
    def not_modified(self) -> bool:
        return "message is not modified" in self.description.lower()

    @property
    def not_found(self) -> bool:
        return "not found" in self.description.lower()


class TelegramForbiddenError(TelegramError):
    """Telegram answered 403: the user blocked the bot, or it was removed from the chat."""


@dataclass(slots=True)
class RetryPolicy:
    """How calls are retried. ``attempts=None`` retries network errors forever (the poller)."""

    initial: float = 0.5
    maximum: float = 30.0
    attempts: int | None = 6
    max_retry_after: float = 300.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    secret: str | None = None
    """Scrubbed from every error message (the bot token, should a URL ever show up in one)."""

    def clean(self, text: str) -> str:
        return text.replace(self.secret, "<token>") if self.secret else text

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter (50–100 % of the step)."""
        step = min(self.maximum, self.initial * 2 ** max(0, attempt - 1))
        return step * (0.5 + self.rng.random() / 2)


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asked for, whether PTB gives it as an int or a ``timedelta``."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def translate(exc: PTBError, method: str) -> TelegramError:
    """The ``TelegramError`` for a PTB error that is not worth retrying."""
    if isinstance(exc, Conflict):
        return TelegramConflictError(
            f"Telegram {method} conflict: {exc.message}", method=method, hint=CONFLICT_HINT
        )
    if isinstance(exc, InvalidToken):  # its message quotes the token: never repeat it
        return TelegramAuthError(
            "Telegram refused the bot token",
            method=method,
            hint="check [telegram] token",
        )
    if isinstance(exc, BadRequest):
        return TelegramBadRequestError(exc.message, method=method)
    if isinstance(exc, Forbidden):
        return TelegramForbiddenError(f"Telegram {method} forbidden: {exc.message}", method=method)
    if isinstance(exc, ChatMigrated):
        return TelegramError(
            f"Telegram {method}: the group moved to chat {exc.new_chat_id}", method=method
        )
    return TelegramError(f"Telegram {method} failed: {exc.message}", method=method)


async def call_api(method: str, fn: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Run ``fn`` (one Bot API call) until it succeeds or fails for good.

    A 429 sleeps ``retry_after`` and tries again (not counted as an attempt; a wait longer than
    ``max_retry_after``, or a 21st 429 in a row, fails the call); network errors, timeouts and 5xx back off
    exponentially up to ``policy.attempts`` tries; everything else raises at once.
    """
    attempt = 0
    waits = 0
    while True:
        try:
            return await fn()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            waits += 1
            if wait > policy.max_retry_after or waits > MAX_RATE_LIMIT_WAITS:
                raise TelegramError(
                    f"Telegram {method} rate-limited for {wait:.0f} s", method=method
                ) from exc
            log.warning("telegram %s: 429, retrying after %.1f s", method, wait)
            await policy.sleep(wait)
        except (BadRequest, Conflict, Forbidden, InvalidToken, ChatMigrated) as exc:
            raise _scrub(translate(exc, method), policy) from None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            attempt += 1
            if policy.attempts is not None and attempt >= policy.attempts:
                raise TelegramError(
                    policy.clean(
                        f"Telegram {method} failed after {attempt} attempts: {exc.message}"
                    ),
                    method=method,
                ) from None
            delay = policy.backoff(attempt)
            log.warning(
                "telegram %s: %s; retry %d in %.2f s",
                method,
                policy.clean(exc.message),
                attempt,
                delay,
            )
            await policy.sleep(delay)
        except PTBError as exc:
            raise _scrub(translate(exc, method), policy) from None


def _scrub(error: TelegramError, policy: RetryPolicy) -> TelegramError:
    error.message = policy.clean(error.message)
    error.args = (error.message,)
    return error
