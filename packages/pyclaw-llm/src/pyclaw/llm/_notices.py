"""Notices the wrappers publish while a call is still going: a retry is coming, a fallback happened.

A wrapper hands each notice to its own ``on_notice`` callback (if any) and to every observer
registered with ``observe_notices`` in the calling context, so an outer ``RecordingProvider`` sees
the retries of a ``RetryingProvider`` nested anywhere below it and can write them to the session.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeAlias

from pyclaw.meta import ProviderError

logger = logging.getLogger("pyclaw.llm")


def error_reason(error: ProviderError) -> str:
    """A short reason for a failure: the HTTP status when there was one, else the message."""
    if error.status is not None:
        return str(error.status)
    return error.message if len(error.message) <= 80 else error.message[:79] + "…"


@dataclass(frozen=True)
class RetryNotice:
    """Attempt ``attempt`` of ``max_attempts`` to ``provider`` failed; the next starts after ``delay``
    seconds."""

    provider: str
    attempt: int
    max_attempts: int
    delay: float
    error: ProviderError

    @property
    def text(self) -> str:
        """E.g. ``retrying in 2.0 s (429)`` (``0.25 s`` below a second)."""
        seconds = f"{self.delay:.1f}" if self.delay >= 1 else f"{self.delay:.2f}"
        return f"retrying in {seconds} s ({error_reason(self.error)})"


@dataclass(frozen=True)
class FallbackNotice:
    """``failed`` could not answer; the call moves on to ``next``."""

    failed: str
    next: str
    error: ProviderError

    @property
    def text(self) -> str:
        """E.g. ``openai failed (503); falling back to anthropic``."""
        return f"{self.failed} failed ({error_reason(self.error)}); falling back to {self.next}"


ProviderNotice: TypeAlias = RetryNotice | FallbackNotice
NoticeCallback: TypeAlias = Callable[[ProviderNotice], object]
"""Called with each notice; may be async (it is then awaited before the call goes on)."""

_observers: ContextVar[tuple[NoticeCallback, ...]] = ContextVar("pyclaw_llm_observers", default=())


@contextmanager
def observe_notices(callback: NoticeCallback) -> Generator[None]:
    """Send every notice published in this context (and tasks started from it) to ``callback``."""
    token = _observers.set((*_observers.get(), callback))
    try:
        yield
    finally:
        _observers.reset(token)


async def publish(notice: ProviderNotice, own: NoticeCallback | None) -> None:
    """Log ``notice`` and hand it to ``own`` and to the observers of the current context."""
    logger.info("llm: %s", notice.text)
    callbacks = (own, *_observers.get()) if own is not None else _observers.get()
    for callback in callbacks:
        result = callback(notice)
        if inspect.isawaitable(result):
            await result
