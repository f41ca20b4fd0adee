"""RecordingProvider: request/response events, errors, streams, retries, image artifacts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncGenerator, Callable

import pytest

from pyclaw.llm import (
    FallbackProvider,
    FunctionProvider,
    Jitter,
    RecordingProvider,
    RetryingProvider,
    RetryPolicy,
    ScriptedProvider,
)
from pyclaw.meta import (
    ArtifactRef,
    CustomEvent,
    EventPayload,
    ImagePart,
    LLMProvider,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
)

REQUEST = LLMRequest(model="m", messages=(Message.user("hi"),))


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds (at most 1000 loop turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


class MemoryLog:
    """The ``append`` half of a SessionLog, in memory."""

    def __init__(self) -> None:
        self.events: list[tuple[str, EventPayload, str | None]] = []

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> object:
        await asyncio.sleep(0)
        self.events.append((session_id, payload, run_id))
        return payload

    @property
    def payloads(self) -> list[EventPayload]:
        return [p for _, p, _ in self.events]


class MemoryArtifacts:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return ArtifactRef(sha256=digest, size=len(data), media_type=media_type, name=name)


def pair(log: MemoryLog) -> tuple[LLMRequestEvent, LLMResponseEvent]:
    request, response = log.payloads
    assert isinstance(request, LLMRequestEvent)
    assert isinstance(response, LLMResponseEvent)
    assert request.call_id == response.call_id
    return request, response


async def test_complete_records_request_then_response() -> None:
    log = MemoryLog()
    inner = ScriptedProvider([ToolCall(id="c1", name="weather", arguments={"city": "Oslo"})])
    provider = RecordingProvider(inner, log, "ses_1", run_id="run_1")
    assert isinstance(provider, LLMProvider)
    assert provider.name == "scripted"
    response = await provider.complete(REQUEST)
    request_event, response_event = pair(log)
    assert request_event.request == REQUEST
    assert request_event.provider == "scripted"
    assert request_event.call_id.startswith("llm_")
    assert response_event.response == response
    assert response_event.error is None
    assert {(sid, run) for sid, _, run in log.events} == {("ses_1", "run_1")}


async def test_the_request_is_recorded_before_the_call_is_made() -> None:
    log = MemoryLog()

    def reply(request: LLMRequest) -> str:
        assert [p.kind for p in log.payloads] == ["llm_request"]
        return "ok"

    await RecordingProvider(FunctionProvider(reply), log, "s").complete(REQUEST)
    assert len(log.payloads) == 2


async def test_a_failed_call_records_the_error_and_raises() -> None:
    log = MemoryLog()
    error = ProviderError("rate limited", retryable=True, status=429, retry_after=3)
    with pytest.raises(ProviderError):
        await RecordingProvider(ScriptedProvider([error]), log, "s").complete(REQUEST)
    _, response_event = pair(log)
    assert response_event.response is None
    assert response_event.error is not None
    assert response_event.error.type == "ProviderError"
    assert response_event.error.message == "rate limited"
    assert response_event.error.retryable
    assert response_event.error.details == {"status": 429, "retry_after": 3}


async def test_a_cancelled_call_records_the_cancellation() -> None:
    log = MemoryLog()
    inner = ScriptedProvider(["slow"], latency=30)
    task = asyncio.create_task(RecordingProvider(inner, log, "s").complete(REQUEST))
    await until(lambda: bool(inner.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, response_event = pair(log)
    assert response_event.error is not None
    assert response_event.error.type == "Cancelled"


async def test_stream_records_the_final_response_once() -> None:
    log = MemoryLog()
    provider = RecordingProvider(ScriptedProvider(["one two three"]), log, "s")
    events = [e async for e in provider.stream(REQUEST)]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    _, response_event = pair(log)
    assert response_event.response == done.response


async def test_a_failing_stream_records_the_error() -> None:
    log = MemoryLog()
    error = ProviderError("server error", retryable=True, status=500)
    with pytest.raises(ProviderError):
        async for _ in RecordingProvider(ScriptedProvider([error]), log, "s").stream(REQUEST):
            pass
    _, response_event = pair(log)
    assert response_event.error is not None
    assert response_event.error.details == {"status": 500}


async def test_a_stream_closed_early_records_that() -> None:
    log = MemoryLog()
    provider = RecordingProvider(ScriptedProvider(["many words here"]), log, "s")
    stream = provider.stream(REQUEST)
    assert isinstance(await anext(stream), TextDelta)
    await stream.aclose()
    _, response_event = pair(log)
    assert response_event.error is not None
    assert response_event.error.type == "StreamClosed"


async def test_a_cancelled_stream_records_the_cancellation() -> None:
    log = MemoryLog()
    inner = ScriptedProvider(["slow"], latency=30)

    async def consume() -> None:
        async for _ in RecordingProvider(inner, log, "s").stream(REQUEST):
            pass

    task = asyncio.create_task(consume())
    await until(lambda: bool(inner.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, response_event = pair(log)
    assert response_event.error is not None
    assert response_event.error.type == "Cancelled"


class NoFinalResponse:
    name = "truncated"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise NotImplementedError

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        yield TextDelta(text="cut")


async def test_a_stream_ending_without_response_done_is_an_error() -> None:
    log = MemoryLog()
    with pytest.raises(ProviderError, match="without a final response"):
        async for _ in RecordingProvider(NoFinalResponse(), log, "s").stream(REQUEST):
            pass
    _, response_event = pair(log)
    assert response_event.error is not None


async def test_retries_and_fallbacks_below_are_recorded_between_request_and_response() -> None:
    log = MemoryLog()

    async def no_wait(seconds: float) -> None:
        return None

    down = ProviderError("overloaded", retryable=True, status=529)
    a = RetryingProvider(
        ScriptedProvider([down, down], name="a"),
        RetryPolicy(max_attempts=2, base_delay=2, max_delay=2, jitter=Jitter.NONE),
        sleep=no_wait,
    )
    chain = FallbackProvider([a, ScriptedProvider(["from b"], name="b")], name="chain")
    response = await RecordingProvider(chain, log, "s").complete(REQUEST)
    assert response.provider == "b"
    kinds = [p.kind for p in log.payloads]
    assert kinds == ["llm_request", "custom", "custom", "llm_response"]
    retry, fallback = log.payloads[1], log.payloads[2]
    assert isinstance(retry, CustomEvent)
    assert isinstance(fallback, CustomEvent)
    request_event = log.payloads[0]
    assert isinstance(request_event, LLMRequestEvent)
    call_id = request_event.call_id
    assert retry.name == "llm_retry"
    assert retry.data["text"] == "retrying in 2.0 s (529)"
    assert retry.data["call_id"] == call_id
    assert retry.data["attempt"] == 1
    assert fallback.name == "llm_fallback"
    assert fallback.data["text"] == "a failed (529); falling back to b"


async def test_stream_retries_are_recorded_too() -> None:
    log = MemoryLog()

    async def no_wait(seconds: float) -> None:
        return None

    inner = RetryingProvider(
        ScriptedProvider([ProviderError("x", retryable=True, status=503), "ok"]), sleep=no_wait
    )
    async for _ in RecordingProvider(inner, log, "s").stream(REQUEST):
        pass
    assert [p.kind for p in log.payloads] == ["llm_request", "custom", "llm_response"]


async def test_inline_images_go_to_the_artifact_store() -> None:
    log = MemoryLog()
    artifacts = MemoryArtifacts()
    png = b"\x89PNG fake image bytes"
    image = ImagePart(media_type="image/png", data_base64=base64.b64encode(png).decode())
    message = Message(role="user", parts=(TextPart(text="what is this?"), image))
    request = LLMRequest(model="m", messages=(message,))
    inner = ScriptedProvider(["a cat"])
    await RecordingProvider(inner, log, "s", artifacts=artifacts).complete(request)
    assert inner.requests[0] == request  # the model got the image inline
    request_event, _ = pair(log)
    recorded = request_event.request.messages[0].parts[1]
    assert isinstance(recorded, ImagePart)
    assert recorded.data_base64 is None
    assert recorded.artifact is not None
    assert recorded.artifact.media_type == "image/png"
    assert artifacts.blobs[recorded.artifact.sha256] == png
    assert request_event.request.messages[0].parts[0] == TextPart(text="what is this?")


async def test_a_failing_log_fails_the_call() -> None:
    class BrokenLog:
        async def append(
            self, session_id: str, payload: EventPayload, *, run_id: str | None = None
        ) -> object:
            raise OSError("disk full")

    inner = ScriptedProvider(["never"])
    with pytest.raises(OSError, match="disk full"):
        await RecordingProvider(inner, BrokenLog(), "s").complete(REQUEST)
    assert inner.requests == []
