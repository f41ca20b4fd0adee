"""FallbackProvider: which errors move on, who answered, model substitution, streams, notices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from pyclaw.llm import (
    FallbackNotice,
    FallbackProvider,
    ProviderNotice,
    RetryingProvider,
    RetryPolicy,
    ScriptedProvider,
    any_provider_error,
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
    UsageError,
)

REQUEST = LLMRequest(model="gpt-4o", messages=(Message.user("hi"),))


async def drain(events: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    async for event in events:
        into.append(event)


def down(status: int = 503) -> ProviderError:
    return ProviderError(f"unavailable ({status})", retryable=True, status=status)


def test_needs_a_provider_and_names_its_chain() -> None:
    with pytest.raises(UsageError):
        FallbackProvider([])
    chain = FallbackProvider([ScriptedProvider(name="a"), (ScriptedProvider(name="b"), "claude")])
    assert isinstance(chain, LLMProvider)
    assert chain.name == "fallback(a, b:claude)"
    assert FallbackProvider([ScriptedProvider()], name="main").name == "main"


async def test_first_provider_answers_and_the_rest_are_not_asked() -> None:
    a, b = ScriptedProvider(["from a"], name="a"), ScriptedProvider(["from b"], name="b")
    response = await FallbackProvider([a, b]).complete(REQUEST)
    assert (response.message.text, response.provider) == ("from a", "a")
    assert b.requests == []


async def test_unavailable_provider_falls_back_and_the_response_says_who_answered() -> None:
    a = ScriptedProvider([down(503)], name="a")
    b = ScriptedProvider([down(429)], name="b")
    c = ScriptedProvider(["from c"], name="c")
    notices: list[ProviderNotice] = []
    chain = FallbackProvider([a, b, c], on_fallback=notices.append)
    response = await chain.complete(REQUEST)
    assert (response.message.text, response.provider) == ("from c", "c")
    assert [len(p.requests) for p in (a, b, c)] == [1, 1, 1]
    assert [n.text for n in notices] == [
        "a failed (503); falling back to b",
        "b failed (429); falling back to c",
    ]
    assert all(isinstance(n, FallbackNotice) for n in notices)


async def test_fallback_after_the_inner_retries_gave_up() -> None:
    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    a = ScriptedProvider([down(), down(), down()], name="a")
    retried = RetryingProvider(a, RetryPolicy(max_attempts=3), sleep=no_wait)
    b = ScriptedProvider(["from b"], name="b")
    response = await FallbackProvider([retried, b]).complete(REQUEST)
    assert response.provider == "b"
    assert len(a.requests) == 3
    assert len(sleeps) == 2


async def test_non_retryable_error_stops_the_chain_by_default() -> None:
    error = ProviderError("prompt is too long: 210000 tokens > 200000", status=400)
    a = ScriptedProvider([error], name="a")
    b = ScriptedProvider(["never"], name="b")
    with pytest.raises(ProviderError) as caught:
        await FallbackProvider([a, b]).complete(REQUEST)
    assert caught.value is error
    assert b.requests == []


async def test_fall_back_on_can_include_request_errors() -> None:
    a = ScriptedProvider([ProviderError("context too long", status=400)], name="a")
    b = ScriptedProvider(["bigger context"], name="b")
    chain = FallbackProvider([a, b], fall_back_on=any_provider_error)
    assert (await chain.complete(REQUEST)).provider == "b"


async def test_other_exceptions_propagate_without_fallback() -> None:
    a = ScriptedProvider([KeyError("bug")], name="a")
    b = ScriptedProvider(["never"], name="b")
    with pytest.raises(KeyError):
        await FallbackProvider([a, b]).complete(REQUEST)
    assert b.requests == []


async def test_every_provider_failing_raises_one_error_listing_each() -> None:
    a = ScriptedProvider([down(503)], name="a")
    b = ScriptedProvider([ProviderError("connection refused", retryable=True)], name="b")
    with pytest.raises(ProviderError) as caught:
        await FallbackProvider([a, b], name="chain").complete(REQUEST)
    error = caught.value
    assert error.message == "chain: every provider failed (a: 503; b: connection refused)"
    assert error.retryable
    assert error.provider == "chain"
    assert error.__cause__ is not None


async def test_all_failed_is_not_retryable_when_one_failure_was_not() -> None:
    a = ScriptedProvider([down()], name="a")
    b = ScriptedProvider([ProviderError("bad key", status=401)], name="b")
    with pytest.raises(ProviderError) as caught:
        await FallbackProvider([a, b], fall_back_on=any_provider_error).complete(REQUEST)
    assert not caught.value.retryable
    assert caught.value.status == 401


async def test_a_target_with_a_model_gets_the_request_with_that_model() -> None:
    a = ScriptedProvider([down()], name="openai")
    b = ScriptedProvider(["hi"], name="anthropic")
    chain = FallbackProvider([a, (b, "claude-sonnet-4-5")])
    response = await chain.complete(REQUEST)
    assert a.requests[0].model == "gpt-4o"
    assert b.requests[0].model == "claude-sonnet-4-5"
    assert b.requests[0].messages == REQUEST.messages
    assert response.model == "claude-sonnet-4-5"


async def test_notices_reach_context_observers() -> None:
    seen: list[str] = []
    chain = FallbackProvider([ScriptedProvider([down()], name="a"), ScriptedProvider(["ok"])])
    with observe_notices(lambda n: seen.append(n.text)):
        await chain.complete(REQUEST)
    assert seen == ["a failed (503); falling back to scripted"]


async def test_stream_falls_back_before_the_first_event() -> None:
    a = ScriptedProvider([down()], name="a")
    b = ScriptedProvider(["streamed answer"], name="b")
    events = [e async for e in FallbackProvider([a, b]).stream(REQUEST)]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert (done.response.message.text, done.response.provider) == ("streamed answer", "b")


class DropsAfterOneEvent:
    name = "drops"

    def __init__(self) -> None:
        self.closed = False

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise NotImplementedError

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        try:
            yield TextDelta(text="half")
            await asyncio.sleep(0)
            raise down()
        finally:
            self.closed = True


async def test_stream_does_not_fall_back_once_events_were_yielded() -> None:
    first = DropsAfterOneEvent()
    b = ScriptedProvider(["never"], name="b")
    got: list[StreamEvent] = []
    with pytest.raises(ProviderError):
        await drain(FallbackProvider([first, b]).stream(REQUEST), got)
    assert got == [TextDelta(text="half")]
    assert first.closed
    assert b.requests == []


async def test_stream_all_failing_raises_the_summary() -> None:
    chain = FallbackProvider([ScriptedProvider([down()], name="a"), ScriptedProvider([down(502)])])
    with pytest.raises(ProviderError, match="every provider failed"):
        async for _ in chain.stream(REQUEST):
            pass
