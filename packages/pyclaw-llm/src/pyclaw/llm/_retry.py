"""``RetryingProvider``: retries retryable provider failures with exponential backoff and jitter.

This is the one place PyClaw retries LLM calls (the SDK providers run with ``max_retries=0``), so
every provider gets the same behaviour: retry ``ProviderError(retryable=True)`` (429, 5xx,
connection errors, timeouts), wait at least the server's ``Retry-After``, never retry a request
that cannot succeed, give up at an overall deadline, and never retry a stream the caller has
already seen events from.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pyclaw.llm._notices import NoticeCallback, RetryNotice, publish
from pyclaw.llm._targets import Wrapper
from pyclaw.meta import LLMProvider, LLMRequest, LLMResponse, ProviderError, StreamEvent

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_MAX_EXPONENT = 62  # 2**62 seconds is forever; keeps the float maths finite for any attempt


class Jitter(StrEnum):
    """How the backoff delay is randomized, so many clients do not retry in lockstep."""

    FULL = "full"  # uniform in [0, backoff]
    EQUAL = "equal"  # backoff / 2 + uniform in [0, backoff / 2]
    NONE = "none"  # exactly the backoff


class RetryPolicy(BaseModel):
    """When and how long to wait between attempts.

    The backoff after failed attempt ``n`` (1-based) is ``min(max_delay, base_delay * 2**(n-1))``,
    randomized by ``jitter``. A server's ``retry_after`` raises the wait to at least that many
    seconds, capped at ``max_retry_after``. ``deadline`` (seconds, optional) bounds the whole call:
    no retry starts that would begin after it, and an attempt still running at the deadline is
    cancelled.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_attempts: int = Field(default=4, ge=1, le=100)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=30.0, ge=0)
    jitter: Jitter = Jitter.FULL
    max_retry_after: float = Field(default=60.0, ge=0)
    deadline: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_delay < self.base_delay:
            raise ValueError(
                f"max_delay ({self.max_delay}) is below base_delay ({self.base_delay})"
            )
        return self

    def backoff(self, attempt: int, rand: float) -> float:
        """The jittered backoff after failed attempt ``attempt``; ``rand`` is uniform in [0, 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
        if self.jitter is Jitter.FULL:
            return ceiling * rand
        if self.jitter is Jitter.EQUAL:
            return ceiling / 2 + ceiling / 2 * rand
        return ceiling

    def delay(self, attempt: int, error: ProviderError, rand: float) -> float:
        """The wait before the attempt after ``attempt``: the backoff, or the server's
        ``retry_after`` (capped at ``max_retry_after``) when that is longer."""
        wait = self.backoff(attempt, rand)
        if error.retry_after is not None:
            wait = max(wait, min(error.retry_after, self.max_retry_after))
        return wait


class RetryingProvider(Wrapper):
    """An ``LLMProvider`` that retries ``inner`` on retryable ``ProviderError``s.

    Non-retryable errors (a 400, a bad key) and anything that is not a ``ProviderError`` pass
    through at once. When the attempts or the deadline run out, the last error is raised again as a
    ``ProviderError`` saying how many attempts were made (same ``retryable``, ``status`` and
    ``provider``, chained to the original). A stream is retried only while it failed before its
    first event; once the caller has an event, a failure propagates. Every planned retry is
    published as a ``RetryNotice`` (to ``on_retry``, to ``observe_notices`` observers, and to the
    ``pyclaw.llm`` logger). Cancelling the call, also during a backoff wait, stops it at once.

    ``sleep``, ``clock`` and ``random`` are injectable so tests never really wait.
    """

    def __init__(
        self,
        inner: LLMProvider,
        policy: RetryPolicy | None = None,
        *,
        on_retry: NoticeCallback | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self._on_retry = on_retry
        self._sleep = sleep
        self._clock = clock
        self._random = random

    @property
    def name(self) -> str:
        return self.inner.name

    def wrapped(self) -> Sequence[LLMProvider]:
        return (self.inner,)

    def _remaining(self, started: float) -> float | None:
        deadline = self.policy.deadline
        return None if deadline is None else deadline - (self._clock() - started)

    def _deadline_error(self, attempt: int) -> ProviderError:
        return ProviderError(
            f"{self.name}: no answer within the {self.policy.deadline:g} s deadline "
            f"(attempt {attempt} of {self.policy.max_attempts} cut short)",
            retryable=True,
            provider=self.name,
        )

    async def _after_failure(self, attempt: int, error: ProviderError, started: float) -> None:
        """Wait before the next attempt, or raise when there must be none."""
        if not error.retryable:
            raise error
        if attempt >= self.policy.max_attempts:
            if attempt == 1:
                raise error
            raise _gave_up(error, f"gave up after {attempt} attempts")
        wait = self.policy.delay(attempt, error, self._random())
        remaining = self._remaining(started)
        if remaining is not None and wait >= remaining:
            raise _gave_up(
                error,
                f"gave up after {attempt} attempts: the next would start after the "
                f"{self.policy.deadline:g} s deadline",
            )
        notice = RetryNotice(self.name, attempt, self.policy.max_attempts, wait, error)
        await publish(notice, self._on_retry)
        await self._sleep(wait)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            window = asyncio.timeout(self._remaining(started))
            try:
                async with window:
                    return await self.inner.complete(request)
            except ProviderError as error:
                failure = error
            except TimeoutError:
                if not window.expired():
                    raise
                failure = self._deadline_error(attempt)
            await self._after_failure(attempt, failure, started)

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """Retried only until the first event arrives; then passed through as is."""
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            events = self.inner.stream(request)
            window = asyncio.timeout(self._remaining(started))
            try:
                async with window:
                    first = await anext(events)
                break
            except StopAsyncIteration:
                return
            except ProviderError as error:
                failure = error
            except TimeoutError:
                await close_stream(events)
                if not window.expired():
                    raise
                failure = self._deadline_error(attempt)
            except BaseException:
                await close_stream(events)
                raise
            await close_stream(events)
            await self._after_failure(attempt, failure, started)
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await close_stream(events)


def _gave_up(error: ProviderError, why: str) -> ProviderError:
    final = ProviderError(
        f"{error.message} ({why})",
        retryable=error.retryable,
        retry_after=error.retry_after,
        status=error.status,
        provider=error.provider,
        hint=error.hint,
    )
    final.__cause__ = error
    return final


async def close_stream(events: AsyncIterator[StreamEvent]) -> None:
    """Close an abandoned stream so its HTTP request ends now, not at garbage collection."""
    if isinstance(events, AsyncGenerator):
        await events.aclose()
