"""RetryingProvider: backoff, jitter, Retry-After, deadline, streams, notices, cancellation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pyclaw.llm import (
    FunctionProvider,
    Jitter,
    NoticeCallback,
    ProviderNotice,
    RetryingProvider,
    RetryNotice,
    RetryPolicy,
    ScriptedProvider,
    observe_notices,
)
from pyclaw.meta import (
    LLMProvider,
    LLMRequest,
    LLMResponse,
    Message,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
)

REQUEST = LLMRequest(model="m", messages=(Message.user("hi"),))
NO_JITTER = RetryPolicy(jitter=Jitter.NONE)


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds (at most 1000 loop turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def drain(events: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    async for event in events:
        into.append(event)


class FakeTime:
    """A clock that only moves when the retrier sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def retrying(
    inner: LLMProvider, policy: RetryPolicy = NO_JITTER, on_retry: NoticeCallback | None = None
) -> tuple[RetryingProvider, FakeTime]:
    fake = FakeTime()
    provider = RetryingProvider(
        inner, policy, on_retry=on_retry, sleep=fake.sleep, clock=fake.clock, random=lambda: 0.5
    )
    return provider, fake


def unavailable(status: int = 503, retry_after: float | None = None) -> ProviderError:
    return ProviderError(
        f"server said {status}",
        retryable=True,
        status=status,
        retry_after=retry_after,
        provider="scripted",
    )


def test_is_a_provider_with_the_inner_name() -> None:
    provider, _ = retrying(ScriptedProvider(name="inner-x"))
    assert isinstance(provider, LLMProvider)
    assert provider.name == "inner-x"


async def test_retries_retryable_errors_with_exponential_backoff() -> None:
    inner = ScriptedProvider([unavailable(500), unavailable(503), "ok"])
    provider, fake = retrying(inner)
    response = await provider.complete(REQUEST)
    assert response.message.text == "ok"
    assert len(inner.requests) == 3
    assert fake.sleeps == [0.5, 1.0]


async def test_non_retryable_error_is_raised_at_once() -> None:
    error = ProviderError("context too long", retryable=False, status=400)
    inner = ScriptedProvider([error, "never"])
    provider, fake = retrying(inner)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    assert caught.value is error
    assert len(inner.requests) == 1
    assert fake.sleeps == []


async def test_other_exceptions_are_not_retried() -> None:
    inner = ScriptedProvider([ValueError("a bug"), "never"])
    provider, _ = retrying(inner)
    with pytest.raises(ValueError, match="a bug"):
        await provider.complete(REQUEST)
    assert len(inner.requests) == 1


async def test_gives_up_after_max_attempts_keeping_the_error_data() -> None:
    last = unavailable(429, retry_after=1.0)
    inner = ScriptedProvider([unavailable(429), unavailable(429), last, "never"])
    provider, fake = retrying(inner, RetryPolicy(max_attempts=3, jitter=Jitter.NONE))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    error = caught.value
    assert "gave up after 3 attempts" in error.message
    assert error.message.startswith("server said 429")
    assert (error.retryable, error.status, error.retry_after, error.provider) == (
        True,
        429,
        1.0,
        "scripted",
    )
    assert error.__cause__ is last
    assert len(inner.requests) == 3
    assert len(fake.sleeps) == 2
    assert inner.remaining == 1


async def test_a_single_attempt_policy_raises_the_original_error() -> None:
    error = unavailable()
    provider, fake = retrying(ScriptedProvider([error]), RetryPolicy(max_attempts=1))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    assert caught.value is error
    assert fake.sleeps == []


async def test_retry_after_is_a_minimum_wait_capped_by_max_retry_after() -> None:
    inner = ScriptedProvider([unavailable(429, retry_after=7), unavailable(429, 900), "ok"])
    provider, fake = retrying(inner, RetryPolicy(jitter=Jitter.NONE, max_retry_after=60))
    await provider.complete(REQUEST)
    assert fake.sleeps == [7, 60]


async def test_backoff_wins_over_a_shorter_retry_after() -> None:
    inner = ScriptedProvider([unavailable(429, retry_after=0.1), "ok"])
    provider, fake = retrying(inner, RetryPolicy(base_delay=2, jitter=Jitter.NONE))
    await provider.complete(REQUEST)
    assert fake.sleeps == [2]


def test_backoff_formula() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30, jitter=Jitter.NONE)
    assert [policy.backoff(n, 0.9) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    full = RetryPolicy(base_delay=1, max_delay=30, jitter=Jitter.FULL)
    assert full.backoff(3, 0.25) == 1.0  # ceiling 4, times 0.25
    equal = RetryPolicy(base_delay=1, max_delay=30, jitter=Jitter.EQUAL)
    assert equal.backoff(3, 0.5) == 3.0  # 2 + 2 * 0.5
    assert RetryPolicy().jitter is Jitter.FULL
    assert RetryPolicy(jitter="equal").jitter is Jitter.EQUAL  # pyright: ignore[reportArgumentType]


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    rand=st.floats(min_value=0, max_value=1, exclude_max=True),
    base=st.floats(min_value=0, max_value=10),
    jitter=st.sampled_from(list(Jitter)),
)
def test_backoff_stays_within_zero_and_the_ceiling(
    attempt: int, rand: float, base: float, jitter: Jitter
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=max(base, 30), jitter=jitter)
    delay = policy.backoff(attempt, rand)
    ceiling = min(policy.max_delay, base * 2.0 ** min(attempt - 1, 62))
    assert 0 <= delay <= ceiling + 1e-9


def test_policy_validation() -> None:
    with pytest.raises(ValidationError, match="max_delay"):
        RetryPolicy(base_delay=10, max_delay=1)
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError):
        RetryPolicy(jitter="sometimes")  # pyright: ignore[reportArgumentType]


async def test_deadline_stops_retries_that_would_start_too_late() -> None:
    inner = ScriptedProvider([unavailable()] * 10)
    policy = RetryPolicy(max_attempts=10, base_delay=1, jitter=Jitter.NONE, deadline=5)
    provider, fake = retrying(inner, policy)
    with pytest.raises(ProviderError, match="5 s deadline") as caught:
        await provider.complete(REQUEST)
    # waits 1 and 2 (3 s spent); the next wait of 4 s would end after the 5 s deadline
    assert fake.sleeps == [1, 2]
    assert len(inner.requests) == 3
    assert caught.value.retryable


async def test_deadline_cuts_a_running_attempt_short_and_cancels_it() -> None:
    cancelled = asyncio.Event()

    async def hang(request: LLMRequest) -> str:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return "never"

    provider = RetryingProvider(FunctionProvider(hang), RetryPolicy(max_attempts=1, deadline=0.05))
    started = time.perf_counter()
    with pytest.raises(ProviderError, match="deadline") as caught:
        await provider.complete(REQUEST)
    assert time.perf_counter() - started < 2
    assert cancelled.is_set()
    assert caught.value.retryable


async def test_a_timeout_raised_by_the_provider_itself_is_not_mistaken_for_the_deadline() -> None:
    provider, _ = retrying(ScriptedProvider([TimeoutError("inner"), "never"]))
    with pytest.raises(TimeoutError, match="inner"):
        await provider.complete(REQUEST)


async def test_each_retry_is_announced_to_callback_observers_and_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[ProviderNotice] = []
    observed: list[str] = []

    async def on_retry(notice: ProviderNotice) -> None:
        await asyncio.sleep(0)
        seen.append(notice)

    inner = ScriptedProvider([unavailable(429, retry_after=2), unavailable(500), "ok"])
    provider, _ = retrying(inner, on_retry=on_retry)
    with (
        caplog.at_level(logging.INFO, logger="pyclaw.llm"),
        observe_notices(lambda n: observed.append(n.text)),
    ):
        await provider.complete(REQUEST)
    assert [n.text for n in seen] == ["retrying in 2.0 s (429)", "retrying in 1.0 s (500)"]
    first = seen[0]
    assert isinstance(first, RetryNotice)
    assert (first.provider, first.attempt, first.max_attempts) == ("scripted", 1, 4)
    assert observed == [n.text for n in seen]
    assert "retrying in 2.0 s (429)" in caplog.text
    # observers registered in a context stop receiving notices after it
    await retrying(ScriptedProvider([unavailable(), "ok"]))[0].complete(REQUEST)
    assert len(observed) == 2


async def test_cancelling_during_the_backoff_wait_stops_at_once() -> None:
    inner = ScriptedProvider([unavailable(), "never"])
    provider = RetryingProvider(inner, RetryPolicy(base_delay=30, jitter=Jitter.NONE))
    task = asyncio.create_task(provider.complete(REQUEST))
    await until(lambda: bool(inner.requests))
    await asyncio.sleep(0.01)  # now inside the 30 s backoff sleep
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - started < 0.5
    assert len(inner.requests) == 1
    assert inner.remaining == 1


async def test_cancelling_with_an_injected_sleep_stops_too() -> None:
    entered = asyncio.Event()

    async def forever(seconds: float) -> None:
        entered.set()
        await asyncio.Event().wait()

    inner = ScriptedProvider([unavailable(), "never"])
    provider = RetryingProvider(inner, sleep=forever)
    task = asyncio.create_task(provider.complete(REQUEST))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(inner.requests) == 1


# --- streams ---------------------------------------------------------------------------------


class BreaksMidStream:
    """Streams one text delta, then fails (a dropped connection); counts streams and closes."""

    name = "breaks"

    def __init__(self) -> None:
        self.streams = 0
        self.closed = 0

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise NotImplementedError

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        self.streams += 1
        try:
            yield TextDelta(text="partial ")
            await asyncio.sleep(0)
            raise unavailable()
        finally:
            self.closed += 1


async def test_stream_is_retried_when_it_fails_before_its_first_event() -> None:
    inner = ScriptedProvider([unavailable(502), "hello world"])
    provider, fake = retrying(inner)
    events = [e async for e in provider.stream(REQUEST)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["hello ", "world"]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.text == "hello world"
    assert fake.sleeps == [0.5]
    assert len(inner.requests) == 2


async def test_stream_is_never_retried_after_an_event_was_yielded() -> None:
    inner = BreaksMidStream()
    provider, fake = retrying(inner)
    received: list[StreamEvent] = []
    with pytest.raises(ProviderError, match="503"):
        await drain(provider.stream(REQUEST), received)
    assert received == [TextDelta(text="partial ")]
    assert inner.streams == 1
    assert inner.closed == 1
    assert fake.sleeps == []


async def test_stream_gives_up_like_complete() -> None:
    inner = ScriptedProvider([unavailable()] * 2)
    provider, _ = retrying(inner, RetryPolicy(max_attempts=2, jitter=Jitter.NONE))
    with pytest.raises(ProviderError, match="gave up after 2 attempts"):
        async for _ in provider.stream(REQUEST):
            pass


async def test_closing_the_stream_early_closes_the_inner_stream() -> None:
    inner = BreaksMidStream()
    provider, _ = retrying(inner)
    events = provider.stream(REQUEST)
    assert await anext(events) == TextDelta(text="partial ")
    await events.aclose()
    assert inner.closed == 1


async def test_stream_deadline_applies_before_the_first_event() -> None:
    async def hang(request: LLMRequest) -> str:
        await asyncio.Event().wait()
        return "never"

    provider = RetryingProvider(FunctionProvider(hang), RetryPolicy(max_attempts=1, deadline=0.05))
    with pytest.raises(ProviderError, match="deadline"):
        async for _ in provider.stream(REQUEST):
            pass
