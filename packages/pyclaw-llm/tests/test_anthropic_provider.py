"""``AnthropicProvider`` end to end: the real ``anthropic`` SDK against ``FakeAnthropicServer``."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "anthropic", reason="the [anthropic] extra is not installed (the per-package isolation run)"
)

from pyclaw.llm import ModelPrice
from pyclaw.llm.anthropic import AnthropicProvider
from pyclaw.llm.testing import (
    DropFault,
    FakeAnthropicServer,
    FakeReply,
    HangFault,
    MalformedJSONFault,
    StatusFault,
    StreamErrorFault,
)
from pyclaw.meta import (
    LLMRequest,
    LLMResponse,
    Message,
    ProviderError,
    ResponseDone,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallReady,
    ToolResult,
    ToolSpec,
    Usage,
)

KEY = "sk-ant-api03-test-key-0123456789abcdef"
MODEL = "claude-test-1"
LONG_TEXT = " ".join(f"word{i}" for i in range(40))
REQUEST = LLMRequest(model=MODEL, messages=(Message.user("Hello there"),), system="Be brief.")
WEATHER = ToolSpec(
    name="weather",
    description="Current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=KEY) as fake:
        yield fake
    assert fake.errors == []


@pytest.fixture
async def llm(server: FakeAnthropicServer) -> AsyncIterator[AnthropicProvider]:
    async with AnthropicProvider(
        model=MODEL, api_key=KEY, base_url=server.base_url, timeout=1.0
    ) as provider:
        yield provider


async def collect(llm: AnthropicProvider, request: LLMRequest = REQUEST) -> list[StreamEvent]:
    return [event async for event in llm.stream(request)]


def done(events: list[StreamEvent]) -> LLMResponse:
    assert isinstance(events[-1], ResponseDone)
    assert not any(isinstance(e, ResponseDone) for e in events[:-1])
    return events[-1].response


def comparable(response: LLMResponse) -> LLMResponse:
    """Without what differs between two calls: latency and the server's message id."""
    assert response.response_id is not None
    assert response.response_id.startswith("msg_")
    return response.model_copy(update={"latency_ms": None, "response_id": None})


async def error_of(llm: AnthropicProvider, *, stream: bool) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await (collect(llm) if stream else llm.complete(REQUEST))
    error = info.value
    assert KEY not in str(error)
    assert error.provider == "anthropic"
    return error


# --- answers -----------------------------------------------------------------------------------


async def test_text_answer_and_the_request_on_the_wire(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add("Hi! How can I help?")
    response = await llm.complete(REQUEST)
    assert response.message == Message.assistant("Hi! How can I help?")
    assert (response.stop_reason, response.provider, response.model) == (
        StopReason.END_TURN,
        "anthropic",
        MODEL,
    )
    assert response.latency_ms is not None
    assert response.latency_ms > 0
    [sent] = server.requests
    assert sent.path == "/v1/messages"
    assert sent.body == {
        "model": MODEL,
        "max_tokens": 4096,
        "stream": False,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}],
    }
    auth = sent.headers.get("x-api-key") or sent.headers.get("authorization", "")
    assert KEY in auth  # SDK 2.x sends `Authorization: Bearer <key>`
    assert "anthropic-version" in sent.headers
    assert sent.headers["x-stainless-retry-count"] == "0"


async def test_streamed_text_reassembles_and_ends_with_what_complete_returns(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add("The quick brown fox jumps.", "The quick brown fox jumps.")
    events = await collect(llm)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == "The quick brown fox jumps."
    assert server.requests[0].body["stream"] is True
    assert comparable(done(events)) == comparable(await llm.complete(REQUEST))


async def test_a_tool_call_with_complete_and_stream(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    call = ToolCall(id="toolu_01", name="weather", arguments={"city": "Oslo"})
    server.add(call, call)
    request = REQUEST.model_copy(update={"tools": (WEATHER,)})
    response = await llm.complete(request)
    assert response.message.tool_calls == (call,)
    assert response.stop_reason is StopReason.TOOL_USE
    assert server.requests[0].body["tools"] == [
        {
            "name": "weather",
            "description": "Current weather in a city.",
            "input_schema": WEATHER.parameters,
        }
    ]
    events = await collect(llm, request)
    assert [e for e in events if isinstance(e, ToolCallReady)] == [ToolCallReady(call=call)]
    assert comparable(done(events)) == comparable(response)


async def test_parallel_tool_calls_stream_their_json_in_fragments(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    calls = [
        ToolCall(id="toolu_a", name="weather", arguments={"city": "Oslo", "unit": "celsius"}),
        ToolCall(id="toolu_b", name="weather", arguments={"city": "Rome", "unit": "celsius"}),
    ]
    server.add(FakeReply(text="Checking both.", tool_calls=calls, argument_chunk=5))
    server.add(FakeReply(text="Checking both.", tool_calls=calls))
    events = await collect(llm)
    pieces: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            if event.id is not None:
                assert (event.id, event.name) == (calls[event.index].id, "weather")
            pieces.setdefault(event.index, []).append(event.arguments_delta)
    assert sorted(pieces) == [0, 1]
    assert all(len(p) > 3 for p in pieces.values()), "arguments arrive in several fragments"
    assert [json.loads("".join(pieces[i])) for i in (0, 1)] == [c.arguments for c in calls]
    assert [e.call for e in events if isinstance(e, ToolCallReady)] == calls
    response = done(events)
    assert response.message.text == "Checking both."
    assert response.message.tool_calls == tuple(calls)
    assert comparable(response) == comparable(await llm.complete(REQUEST))


async def test_malformed_tool_input_becomes_a_structured_error_not_a_crash(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    broken = ToolCall(id="toolu_bad", name="weather", raw_arguments='{"city": "Oslo"')
    server.add(FakeReply(tool_calls=[broken], argument_chunk=4), broken)
    events = await collect(llm)
    [ready] = [e for e in events if isinstance(e, ToolCallReady)]
    assert ready.call == ToolCall(id="toolu_bad", name="weather", raw_arguments='{"city": "Oslo"')
    response = done(events)
    [error] = response.tool_call_errors
    assert error.type == "MalformedToolArguments"
    assert error.details["call_id"] == "toolu_bad"
    # In a JSON answer the fake sends the unparsable text as the input itself: same outcome.
    assert comparable(await llm.complete(REQUEST)) == comparable(response)


async def test_usage_with_cache_reads_and_cost(server: FakeAnthropicServer) -> None:
    usage = Usage(input_tokens=1000, output_tokens=50, cached_tokens=800)
    server.add(FakeReply(text="ok", usage=usage), FakeReply(text="ok", usage=usage))
    prices = {MODEL: ModelPrice(input=3.0, output=15.0, cached_input=0.3)}
    async with AnthropicProvider(
        model=MODEL, api_key=KEY, base_url=server.base_url, prices=prices
    ) as llm:
        response = await llm.complete(REQUEST)
        streamed = done(await collect(llm))
    assert response.usage == streamed.usage == usage
    expected = (200 * 3.0 + 800 * 0.3 + 50 * 15.0) / 1_000_000
    assert response.cost_usd == streamed.cost_usd == pytest.approx(expected)


async def test_a_conversation_with_tool_results_is_sent_as_valid_turns(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    call = ToolCall(id="toolu_01", name="weather", arguments={"city": "Oslo"})
    request = LLMRequest(
        model=MODEL,
        tools=(WEATHER,),
        messages=(
            Message.user("Weather in Oslo?"),
            Message.assistant(tool_calls=(call,)),
            Message.tool(ToolResult(call_id="toolu_01", name="weather", content="12°C, sunny")),
        ),
    )
    server.add("It is 12°C and sunny in Oslo.")
    response = await llm.complete(request)
    assert response.message.text == "It is 12°C and sunny in Oslo."
    turns = server.requests[0].body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "12°C, sunny"}
    ]


async def test_json_schema_output_comes_back_as_text(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
    request = REQUEST.model_copy(
        update={
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "place", "schema": schema},
            }
        }
    )
    answer = ToolCall(id="toolu_o", name="place", arguments={"city": "Oslo"})
    server.add(answer, answer)
    response = await llm.complete(request)
    assert json.loads(response.message.text) == {"city": "Oslo"}
    assert (response.message.tool_calls, response.stop_reason) == ((), StopReason.END_TURN)
    assert server.requests[0].body["tool_choice"] == {"type": "tool", "name": "place"}
    events = await collect(llm, request)
    assert [e for e in events if isinstance(e, ToolCallDelta | ToolCallReady)] == []
    assert comparable(done(events)) == comparable(response)


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_429_is_retryable_with_retry_after(
    llm: AnthropicProvider, server: FakeAnthropicServer, stream: bool
) -> None:
    server.add(StatusFault(429, retry_after=7))
    error = await error_of(llm, stream=stream)
    assert (error.retryable, error.retry_after, error.status) == (True, 7.0, 429)
    assert "rate_limit_error" in error.message


async def test_retry_after_ms_is_preferred(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(StatusFault(429, retry_after=7, headers={"retry-after-ms": "1500"}))
    assert (await error_of(llm, stream=False)).retry_after == 1.5


@pytest.mark.parametrize(("status", "kind"), [(529, "overloaded_error"), (500, "api_error")])
@pytest.mark.parametrize("stream", [False, True])
async def test_overloaded_and_server_errors_are_retryable(
    llm: AnthropicProvider, server: FakeAnthropicServer, status: int, kind: str, stream: bool
) -> None:
    server.add(StatusFault(status))
    error = await error_of(llm, stream=stream)
    assert (error.retryable, error.status) == (True, status)
    assert kind in error.message


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_not_retryable(
    llm: AnthropicProvider, server: FakeAnthropicServer, status: int
) -> None:
    server.add(StatusFault(status))
    error = await error_of(llm, stream=False)
    assert (error.retryable, error.status, error.retry_after) == (False, status, None)
    assert str(status) in error.message


async def test_an_error_event_inside_a_stream_is_mapped_by_its_type(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(StreamErrorFault(message="Overloaded", after_events=4))
    server.add(StreamErrorFault(message="bad input", error_type="invalid_request_error"))
    overloaded = await error_of(llm, stream=True)
    assert overloaded.retryable
    assert (
        overloaded.message == "anthropic: error event in the stream: overloaded_error: Overloaded"
    )
    assert overloaded.status is None
    assert not (await error_of(llm, stream=True)).retryable


@pytest.mark.parametrize("stream", [False, True])
async def test_a_connection_dropped_mid_answer_is_retryable(
    llm: AnthropicProvider, server: FakeAnthropicServer, stream: bool
) -> None:
    server.add(DropFault(after_events=5))
    error = await error_of(llm, stream=stream)
    assert error.retryable
    assert error.status is None


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_json_is_a_retryable_error(
    llm: AnthropicProvider, server: FakeAnthropicServer, stream: bool
) -> None:
    server.add(MalformedJSONFault())
    error = await error_of(llm, stream=stream)
    assert error.retryable


async def test_a_stream_that_ends_before_message_stop_is_retryable(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(MalformedJSONFault())  # a nameless `data:` event, which the SDK skips; then EOF
    error = await error_of(llm, stream=True)
    assert error.retryable
    assert "message_stop" in error.message


@pytest.mark.parametrize(("stream", "after"), [(False, None), (True, None), (True, 4)])
async def test_a_silent_server_times_out(
    server: FakeAnthropicServer, stream: bool, after: int | None
) -> None:
    server.add(HangFault(seconds=10, after_events=after))
    async with AnthropicProvider(
        model=MODEL, api_key=KEY, base_url=server.base_url, timeout=0.3
    ) as llm:
        loop = asyncio.get_running_loop()
        started = loop.time()
        error = await error_of(llm, stream=stream)
        assert loop.time() - started < 3
    assert error.retryable
    assert "timed out after 0.3 s" in error.message
    assert await server.until_disconnect()


async def test_the_key_never_appears_in_an_error(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(StatusFault(401, message=f"invalid x-api-key {KEY}"))
    error = await error_of(llm, stream=False)
    assert "[redacted]" in error.message
    assert error.hint is not None


async def test_a_wrong_key_is_a_401_that_names_no_key(server: FakeAnthropicServer) -> None:
    wrong = "sk-ant-api03-wrong-key-9876543210"
    async with AnthropicProvider(model=MODEL, api_key=wrong, base_url=server.base_url) as llm:
        with pytest.raises(ProviderError) as info:
            await llm.complete(REQUEST)
    error = info.value
    assert (error.status, error.retryable) == (401, False)
    assert wrong not in str(error)
    assert KEY not in str(error)
    assert wrong not in repr(llm)


@pytest.mark.parametrize("stream", [False, True])
async def test_no_key_anywhere_is_a_clear_error(
    server: FakeAnthropicServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    stream: bool,
) -> None:
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no profile in ~/.config/anthropic either
    async with AnthropicProvider(model=MODEL, base_url=server.base_url) as llm:
        error = await error_of(llm, stream=stream)
    assert error.message == "anthropic: no Anthropic API key"
    assert not error.retryable
    assert server.requests == []


def test_a_profile_that_cannot_be_loaded_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))  # a config dir with no profile in it
    with pytest.raises(ProviderError, match="credentials could not be loaded") as info:
        AnthropicProvider(model=MODEL)
    assert info.value.hint is not None


async def test_an_unreachable_server_is_a_retryable_connection_error(
    server: FakeAnthropicServer,
) -> None:
    base_url = server.base_url
    server.stop()
    async with AnthropicProvider(model=MODEL, api_key=KEY, base_url=base_url) as llm:
        error = await error_of(llm, stream=False)
    assert error.retryable
    assert "connection failed" in error.message


# --- cancellation ------------------------------------------------------------------------------


async def test_cancelling_complete_closes_the_connection(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(FakeReply(text="slow", delay=10))
    task = asyncio.create_task(llm.complete(REQUEST))
    async with asyncio.timeout(5):
        while not server.requests:  # noqa: ASYNC110 - the fake server has no event to await
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await server.until_disconnect()


async def test_cancelling_a_stream_closes_the_connection(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(FakeReply(text=LONG_TEXT, chunk_delay=0.05))
    first = asyncio.Event()

    async def consume() -> None:
        async for event in llm.stream(REQUEST):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await server.until_disconnect()


async def test_closing_a_stream_early_closes_the_connection(
    llm: AnthropicProvider, server: FakeAnthropicServer
) -> None:
    server.add(FakeReply(text=LONG_TEXT, chunk_delay=0.05))
    async with aclosing(llm.stream(REQUEST)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert await server.until_disconnect()
