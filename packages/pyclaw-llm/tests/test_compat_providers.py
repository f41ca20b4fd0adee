"""Both Chat Completions providers (httpx ``OpenAICompatibleProvider`` and the SDK-backed
``OpenAIProvider``) against the fake OpenAI server: same scenarios, same answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Any, Protocol

import pytest

from pyclaw.llm import OpenAICompatibleProvider
from pyclaw.llm.testing import (
    DropFault,
    FakeOpenAIServer,
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
    ToolSpec,
    Usage,
)

KEY = "sk-pyclaw-TEST-3f9c2a7e51d84b06"
"""A distinctive fake key: it must never show up in an error or a log line."""

REQUEST = LLMRequest(
    model="gpt-4o",
    system="You are terse.",
    messages=(Message.user("What is the weather in Oslo?"),),
    tools=(ToolSpec(name="weather", description="Weather for a city"),),
    max_tokens=100,
)


class Provider(Protocol):
    @property
    def name(self) -> str: ...
    async def complete(self, request: LLMRequest) -> LLMResponse: ...
    def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]: ...
    async def aclose(self) -> None: ...


Factory = Callable[..., Provider]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake
    assert fake.errors == []


@pytest.fixture(params=["compat", "openai", "responses"])
def kind(request: pytest.FixtureRequest) -> str:
    """compat: httpx provider; openai: the SDK provider; responses: it on the Responses API."""
    return request.param


@pytest.fixture
async def make(kind: str, server: FakeOpenAIServer) -> AsyncIterator[Factory]:
    """Builds the provider under test, pointed at the fake server (closed after the test)."""
    made: list[Provider] = []

    def factory(**options: Any) -> Provider:
        options.setdefault("api_key", KEY)
        base_url = options.pop("base_url", server.base_url)
        provider: Provider
        if kind == "compat":
            provider = OpenAICompatibleProvider(base_url, model="gpt-4o", **options)
        else:
            sdk = pytest.importorskip(
                "pyclaw.llm.openai",
                reason="the [openai] extra is not installed (the per-package isolation run)",
            )
            provider = sdk.OpenAIProvider(
                model="gpt-4o",
                base_url=base_url,
                use_responses_api=kind == "responses",
                **options,
            )
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        await provider.aclose()


async def collect(provider: Provider, request: LLMRequest = REQUEST) -> list[StreamEvent]:
    return [event async for event in provider.stream(request)]


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def comparable(response: LLMResponse) -> LLMResponse:
    """A response without what differs per call (latency, response id)."""
    return response.model_copy(update={"latency_ms": None, "response_id": None})


# --- answers -------------------------------------------------------------------------------------


async def test_text_answer_json(make: Factory, server: FakeOpenAIServer, kind: str) -> None:
    server.add("Sunny and mild.")
    response = await make().complete(REQUEST)
    assert response.message.text == "Sunny and mild."
    assert response.stop_reason is StopReason.END_TURN
    assert response.model == "gpt-4o"
    assert response.response_id is not None
    assert response.latency_ms is not None
    assert response.usage.output_tokens == 4
    [recorded] = server.requests
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    body = recorded.body
    assert not recorded.stream
    if kind == "responses":
        assert recorded.path == "/v1/responses"
        assert body["instructions"] == "You are terse."
        assert body["input"] == [{"role": "user", "content": "What is the weather in Oslo?"}]
        assert body["tools"][0]["name"] == "weather"
        assert body["max_output_tokens"] == 100
        assert body["store"] is False
    else:
        assert recorded.path == "/v1/chat/completions"
        assert body["messages"][0] == {"role": "system", "content": "You are terse."}
        assert body["tools"][0]["function"]["name"] == "weather"


async def test_text_answer_streamed_equals_complete(
    make: Factory, server: FakeOpenAIServer, kind: str
) -> None:
    server.add("Sunny and mild, 21 degrees.", "Sunny and mild, 21 degrees.")
    provider = make()
    whole = await provider.complete(REQUEST)
    events = await collect(provider)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Sunny ",
        "and ",
        "mild, ",
        "21 ",
        "degrees.",
    ]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert comparable(done.response) == comparable(whole)
    if kind != "responses":
        assert server.requests[-1].body["stream_options"] == {"include_usage": True}


async def test_single_and_parallel_tool_calls_streamed(
    make: Factory, server: FakeOpenAIServer
) -> None:
    oslo = ToolCall(id="call_1", name="weather", arguments={"city": "Oslo", "unit": "celsius"})
    bergen = ToolCall(id="call_2", name="weather", arguments={"city": "Bergen"})
    server.add(oslo, FakeReply(text="Both:", tool_calls=[oslo, bergen], argument_chunk=6))
    provider = make()
    single = await provider.complete(REQUEST)
    assert single.message.tool_calls == (oslo,)
    assert single.stop_reason is StopReason.TOOL_USE
    events = await collect(provider)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.index, d.id, d.name) for d in deltas if d.id] == [
        (0, "call_1", "weather"),
        (1, "call_2", "weather"),
    ]
    assert len(deltas) > 4  # the arguments arrived in fragments
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert ready == [oslo, bergen]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.tool_calls == (oslo, bergen)
    assert done.response.message.text == "Both:"
    assert events.index(next(e for e in events if isinstance(e, ToolCallReady))) < len(events) - 1


async def test_malformed_tool_arguments_become_structured_errors(
    make: Factory, server: FakeOpenAIServer
) -> None:
    bad = ToolCall(id="call_bad", name="weather", raw_arguments='{"city": "Oslo"')
    server.add(bad, bad)
    provider = make()
    done = (await collect(provider))[-1]
    assert isinstance(done, ResponseDone)
    for response in [await provider.complete(REQUEST), done.response]:
        [call] = response.message.tool_calls
        assert (call.id, call.arguments, call.raw_arguments) == ("call_bad", {}, '{"city": "Oslo"')
        [error] = response.tool_call_errors
        assert error.type == "MalformedToolArguments"
        assert error.details["call_id"] == "call_bad"


async def test_usage_with_cached_tokens_and_cost(make: Factory, server: FakeOpenAIServer) -> None:
    usage = Usage(input_tokens=1000, output_tokens=200, cached_tokens=600)
    server.add(FakeReply(text="x", usage=usage), FakeReply(text="x", usage=usage))
    provider = make()
    response = await provider.complete(REQUEST)
    done = (await collect(provider))[-1]
    assert isinstance(done, ResponseDone)
    for got in (response, done.response):
        assert got.usage == usage
        # gpt-4o: 2.50 input, 1.25 cached input, 10.00 output (USD per million tokens)
        assert got.cost_usd == pytest.approx((400 * 2.5 + 600 * 1.25 + 200 * 10) / 1e6)


# --- failures ------------------------------------------------------------------------------------


async def call(provider: Provider, stream: bool) -> LLMResponse:
    if not stream:
        return await provider.complete(REQUEST)
    async with aclosing(provider.stream(REQUEST)) as events:  # pyright: ignore[reportArgumentType]
        async for event in events:
            if isinstance(event, ResponseDone):
                return event.response
    raise AssertionError("the stream ended without ResponseDone")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_rate_limit_with_retry_after(
    make: Factory, server: FakeOpenAIServer, stream: bool
) -> None:
    server.add(StatusFault(429, retry_after=7))
    with pytest.raises(ProviderError) as info:
        await call(make(), stream)
    error = info.value
    assert (error.retryable, error.retry_after, error.status) == (True, 7.0, 429)
    assert error.provider in ("openai-compatible", "openai")
    assert "HTTP 429" in str(error)
    assert "Rate limit reached" in str(error)


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (400, False), (404, False)]
)
async def test_http_errors_say_whether_to_retry(
    make: Factory, server: FakeOpenAIServer, status: int, retryable: bool
) -> None:
    server.add(StatusFault(status), StatusFault(status))
    provider = make()
    for stream in (False, True):
        with pytest.raises(ProviderError) as info:
            await call(provider, stream)
        assert (info.value.status, info.value.retryable) == (status, retryable)
        assert info.value.retry_after is None


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_malformed_json_body(make: Factory, server: FakeOpenAIServer, stream: bool) -> None:
    server.add(MalformedJSONFault())
    with pytest.raises(ProviderError, match="not valid JSON") as info:
        await call(make(), stream)
    assert info.value.retryable


async def test_connection_dropped_mid_stream(make: Factory, server: FakeOpenAIServer) -> None:
    server.add(DropFault(after_events=6))
    provider = make()
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async for event in provider.stream(REQUEST):
            seen.append(event)

    with pytest.raises(ProviderError) as info:
        await consume()
    assert info.value.retryable
    assert "connection" in str(info.value).lower()
    assert seen  # some text had arrived ...
    assert not any(isinstance(e, ResponseDone) for e in seen)  # ... but never a half answer


async def test_connection_dropped_mid_json_body(make: Factory, server: FakeOpenAIServer) -> None:
    server.add(DropFault())
    with pytest.raises(ProviderError) as info:
        await make().complete(REQUEST)
    assert info.value.retryable


async def test_error_event_inside_the_stream(make: Factory, server: FakeOpenAIServer) -> None:
    server.add(StreamErrorFault(message="The model is overloaded", after_events=2))
    with pytest.raises(ProviderError, match="The model is overloaded") as info:
        await call(make(), True)
    assert info.value.retryable


@pytest.mark.parametrize(
    ("stream", "fault"),
    [(False, HangFault(seconds=30)), (True, HangFault(seconds=30, after_events=2))],
    ids=["json", "mid-stream"],
)
async def test_a_silent_server_times_out_within_the_timeout(
    make: Factory, server: FakeOpenAIServer, stream: bool, fault: HangFault
) -> None:
    server.add(fault)
    provider = make(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out after 0\.5 s") as info:
        await call(provider, stream)
    assert info.value.retryable
    assert 0.4 < time.monotonic() - started < 2.0


async def test_unreachable_server_is_a_retryable_connection_error(make: Factory) -> None:
    with FakeOpenAIServer() as gone:
        url = gone.base_url
    provider = make(base_url=url, timeout=5)
    with pytest.raises(ProviderError) as info:
        await provider.complete(REQUEST)
    assert info.value.retryable
    assert info.value.status is None


# --- cancellation ----------------------------------------------------------------------------------


async def test_cancelling_complete_closes_the_connection(
    make: Factory, server: FakeOpenAIServer
) -> None:
    server.add(HangFault(seconds=30))
    task = asyncio.create_task(make().complete(REQUEST))
    await asyncio.to_thread(wait_until, lambda: bool(server.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await server.until_disconnect(seconds=3)


async def test_cancelling_a_stream_closes_the_connection(
    make: Factory, server: FakeOpenAIServer
) -> None:
    server.add(FakeReply(text=" ".join(["word"] * 200), chunk_delay=0.02))
    provider = make()
    first = asyncio.Event()

    async def consume() -> None:
        async for event in provider.stream(REQUEST):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await server.until_disconnect(seconds=3)


async def test_breaking_out_of_a_stream_closes_the_connection(
    make: Factory, server: FakeOpenAIServer
) -> None:
    server.add(FakeReply(text=" ".join(["word"] * 200), chunk_delay=0.02))
    async with aclosing(make().stream(REQUEST)) as events:  # pyright: ignore[reportArgumentType]
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert await server.until_disconnect(seconds=3)


# --- secrets -------------------------------------------------------------------------------------


async def test_api_key_never_in_errors_or_logs(
    make: Factory, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.add(
        StatusFault(500, message=f"upstream rejected key {KEY}"),  # a server that echoes the key
        StreamErrorFault(message=f"bad key {KEY}"),
        StatusFault(429, message=f"Authorization: Bearer {KEY}"),
    )
    provider = make()
    wrong = make(api_key=KEY[::-1])
    errors: list[ProviderError] = []
    for attempt in (
        lambda: call(provider, False),
        lambda: call(provider, True),
        lambda: call(provider, False),
        lambda: call(wrong, False),  # 401 from the server
    ):
        with pytest.raises(ProviderError) as info:
            await attempt()
        errors.append(info.value)
    assert errors[-1].status == 401
    assert not errors[-1].retryable
    for error in errors:
        text = f"{error} {error!r} {error.message} {error.hint}"
        assert KEY not in text
        assert KEY[::-1] not in text
    assert "[redacted]" in str(errors[0])
    assert caplog.records  # the HTTP stack logged something ...
    for record in caplog.records:
        assert KEY not in record.getMessage()  # ... but never the key
    assert KEY not in repr(provider)
