"""Blocking work off the event loop, stoppable: a thread that checks a cancel token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CancelledInThread(Exception):  # noqa: N818 - it is a signal, not an error report
    """Raised inside a worker thread by ``CancelToken.check`` once the caller went away."""


class CancelToken:
    """Set when the coroutine waiting for a thread is cancelled (a timeout, a stopped run).

    Long loops in the thread call ``check()`` so the thread stops soon after, instead of
    walking a huge tree for nobody.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise CancelledInThread


async def run_blocking(fn: Callable[[CancelToken], T]) -> T:
    """Run ``fn(token)`` in a thread; cancelling the caller sets the token and re-raises."""
    token = CancelToken()
    try:
        return await asyncio.to_thread(fn, token)
    except asyncio.CancelledError:
        token.cancel()
        raise
