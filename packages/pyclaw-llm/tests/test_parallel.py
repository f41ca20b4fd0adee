"""complete_many: first_valid cancels the losers for real, all keeps order and exceptions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pyclaw.llm import FunctionProvider, ScriptedProvider, complete_many
from pyclaw.meta import LLMRequest, LLMResponse, Message, ProviderError, UsageError

REQUEST = LLMRequest(model="m", messages=(Message.user("2+2?"),))


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds (at most 1000 loop turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


class Slow:
    """A provider that answers after ``delay`` seconds and records whether it was cancelled."""

    def __init__(self, name: str, answer: str, delay: float) -> None:
        self.started = False
        self.cancelled = False
        self.finished = False

        async def reply(request: LLMRequest) -> str:
            self.started = True
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            self.finished = True
            return answer

        self.provider = FunctionProvider(reply, name=name)


async def test_first_valid_returns_the_fastest_and_cancels_the_rest() -> None:
    fast, slow, slower = Slow("fast", "4", 0.01), Slow("slow", "4", 30), Slow("slower", "4", 60)
    started = time.perf_counter()
    response = await complete_many([slow.provider, fast.provider, slower.provider], REQUEST)
    assert time.perf_counter() - started < 5
    assert response.provider == "fast"
    assert slow.started
    assert slower.started
    # the losers were really cancelled, and had stopped by the time complete_many returned
    assert slow.cancelled
    assert slower.cancelled
    assert not slow.finished
    assert not slower.finished


async def test_first_valid_skips_invalid_and_failed_answers() -> None:
    wrong = Slow("wrong", "5", 0.0)
    failing = ScriptedProvider([ProviderError("down", retryable=True)], name="failing")
    right = Slow("right", "4", 0.05)

    def is_four(response: LLMResponse) -> bool:
        return response.message.text.strip() == "4"

    response = await complete_many(
        [wrong.provider, failing, right.provider], REQUEST, validate=is_four
    )
    assert (response.provider, response.message.text) == ("right", "4")
    assert wrong.finished


async def test_async_validator_and_a_raising_one() -> None:
    async def checks(response: LLMResponse) -> bool:
        await asyncio.sleep(0)
        return response.provider == "b"

    a, b = ScriptedProvider(["x"], name="a"), ScriptedProvider(["y"], name="b")
    assert (await complete_many([a, b], REQUEST, validate=checks)).provider == "b"

    def explodes(response: LLMResponse) -> bool:
        raise RuntimeError("validator bug")

    with pytest.raises(ProviderError, match="validate raised RuntimeError: validator bug"):
        await complete_many([ScriptedProvider(["x"])], REQUEST, validate=explodes)


async def test_first_valid_with_no_valid_answer_explains_each_failure() -> None:
    a = ScriptedProvider([ProviderError("a: server said 503", retryable=True)], name="a")
    b = ScriptedProvider(["nope"], name="b")
    with pytest.raises(ProviderError) as caught:
        await complete_many([a, b], REQUEST, validate=lambda r: False)
    assert caught.value.message == (
        "no valid response from any provider (a: server said 503; b: rejected by validate)"
    )
    assert not caught.value.retryable  # a rejection is not worth retrying as such


async def test_first_valid_prefers_the_earlier_target_on_a_tie() -> None:
    a, b = ScriptedProvider(["a"], name="a"), ScriptedProvider(["b"], name="b")
    for _ in range(5):
        a.add("a")
        b.add("b")
        assert (await complete_many([a, b], REQUEST)).provider == "a"


async def test_the_same_provider_with_several_models() -> None:
    echo = FunctionProvider(lambda r: r.model, name="echo")
    results = await complete_many([(echo, "small"), (echo, "large"), echo], REQUEST, mode="all")
    texts = [r.message.text for r in results if isinstance(r, LLMResponse)]
    assert texts == ["small", "large", "m"]


async def test_all_returns_every_result_and_exception_in_target_order() -> None:
    slow_ok = Slow("slow", "late", 0.05)
    error = ProviderError("bad request", status=400)
    results = await complete_many(
        [slow_ok.provider, ScriptedProvider([error]), ScriptedProvider(["early"])],
        REQUEST,
        mode="all",
    )
    first, second, third = results
    assert isinstance(first, LLMResponse)
    assert first.message.text == "late"
    assert second is error
    assert isinstance(third, LLMResponse)
    assert third.message.text == "early"


async def test_all_with_a_timeout_cancels_the_unfinished() -> None:
    hung = Slow("hung", "never", 60)
    results = await complete_many(
        [ScriptedProvider(["quick"]), hung.provider], REQUEST, mode="all", timeout=0.05
    )
    assert isinstance(results[0], LLMResponse)
    late = results[1]
    assert isinstance(late, ProviderError)
    assert late.retryable
    assert "no answer within 0.05 s" in late.message
    assert hung.cancelled


async def test_first_valid_timeout() -> None:
    hung = Slow("hung", "never", 60)
    with pytest.raises(ProviderError, match=r"hung: no answer within 0\.05 s") as caught:
        await complete_many([hung.provider], REQUEST, timeout=0.05)
    assert caught.value.retryable
    assert hung.cancelled


async def test_cancelling_complete_many_cancels_every_call() -> None:
    calls = [Slow(f"p{i}", "x", 60) for i in range(3)]
    task = asyncio.create_task(complete_many([c.provider for c in calls], REQUEST))
    await until(lambda: all(c.started for c in calls))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(c.cancelled for c in calls)


async def test_a_bug_in_one_provider_propagates_in_first_valid_mode() -> None:
    slow = Slow("slow", "x", 60)
    with pytest.raises(ZeroDivisionError):
        await complete_many([ScriptedProvider([ZeroDivisionError()]), slow.provider], REQUEST)
    assert slow.cancelled


async def test_usage_errors() -> None:
    with pytest.raises(UsageError):
        await complete_many([], REQUEST)
    with pytest.raises(UsageError, match="first_valid"):
        await complete_many(  # pyright: ignore[reportCallIssue] - the overloads forbid it too
            [ScriptedProvider(["x"])], REQUEST, mode="all", validate=lambda r: True
        )
