"""Streaming from the fake providers: event order, reassembly, equality with complete(), cancel."""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import aclosing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.llm import FunctionProvider, ScriptedProvider
from pyclaw.meta import (
    LLMRequest,
    LLMResponse,
    Message,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallReady,
)

REQUEST = LLMRequest(model="m", messages=(Message.user("go"),))


async def collect(provider: ScriptedProvider | FunctionProvider) -> list[StreamEvent]:
    return [event async for event in provider.stream(REQUEST)]


def reassemble(events: list[StreamEvent]) -> tuple[str, list[tuple[str, str, str]]]:
    """Rebuild (text, [(id, name, arguments text)]) the way a streaming client does."""
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    calls: dict[int, list[str]] = {}
    for e in events:
        if isinstance(e, ToolCallDelta):
            if e.id is not None:
                calls[e.index] = [e.id, e.name or "", ""]
            calls[e.index][2] += e.arguments_delta
    return text, [(c[0], c[1], c[2]) for _, c in sorted(calls.items())]


async def test_text_streams_word_by_word() -> None:
    events = await collect(ScriptedProvider(["  Hello there,\n world!  "]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["  ", "Hello ", "there,\n ", "world!  "]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.message.text == "  Hello there,\n world!  "


async def test_tool_calls_stream_as_deltas_then_ready() -> None:
    calls = [
        ToolCall(id="c1", name="search", arguments={"query": "a rather long query text", "n": 3}),
        ToolCall(id="c2", name="noop"),
    ]
    answer = LLMResponse(
        model="m", provider="p", message=Message.assistant("Let me look.", tuple(calls))
    )
    events = await collect(ScriptedProvider([answer]))
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["text_delta"] * 3  # "Let ", "me ", "look."
    first_ready = kinds.index("tool_call_ready")
    assert set(kinds[3:first_ready]) == {"tool_call_delta"}
    assert len(kinds[3:first_ready]) > 1  # the arguments came in several pieces
    assert kinds[first_ready + 1 :] == ["tool_call_delta", "tool_call_ready", "response_done"]
    readies = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert readies == calls
    text, streamed = reassemble(events)
    assert text == "Let me look."
    assert [(i, n, json.loads(a)) for i, n, a in streamed] == [
        ("c1", "search", calls[0].arguments),
        ("c2", "noop", {}),
    ]


async def test_unparseable_arguments_stream_as_written() -> None:
    call = ToolCall(id="c", name="t", raw_arguments='{"city": "Os')
    _, streamed = reassemble(await collect(ScriptedProvider([call])))
    assert streamed == [("c", "t", '{"city": "Os')]


async def test_stream_ends_with_what_complete_would_give() -> None:
    calls = [ToolCall(id="c1", name="a", arguments={"x": 1})]
    script = ["Some text here.", calls]
    streamed_provider, complete_provider = ScriptedProvider(script), ScriptedProvider(script)
    for _ in script:
        events = await collect(streamed_provider)
        done = events[-1]
        assert isinstance(done, ResponseDone)
        assert done.response == await complete_provider.complete(REQUEST)
    assert streamed_provider.requests == [REQUEST, REQUEST]


async def test_function_provider_streams_too() -> None:
    events = await collect(FunctionProvider(lambda r: f"echo {r.messages[0].text}"))
    assert reassemble(events)[0] == "echo go"


async def test_stream_errors_like_complete() -> None:
    provider = ScriptedProvider([])
    with pytest.raises(Exception, match="no reply left"):
        await collect(provider)


async def test_cancel_while_waiting_for_the_first_event() -> None:
    provider = ScriptedProvider(["never seen", "next"], latency=30)
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async with aclosing(provider.stream(REQUEST)) as stream:
            async for event in stream:
                seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - start < 1.0
    assert seen == []
    provider.latency = 0
    assert (await provider.complete(REQUEST)).message.text == "next"  # still usable


async def test_cancel_in_the_middle_of_a_stream() -> None:
    provider = ScriptedProvider([" ".join(f"w{i}" for i in range(1000))])
    seen: list[StreamEvent] = []
    five = asyncio.Event()
    stream = provider.stream(REQUEST)

    async def consume() -> None:
        async with aclosing(stream):
            async for event in stream:
                seen.append(event)
                if len(seen) == 5:
                    five.set()
                await asyncio.sleep(0.001)

    task = asyncio.create_task(consume())
    await five.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 5 <= len(seen) < 1000
    assert not any(isinstance(e, ResponseDone) for e in seen)
    with pytest.raises(StopAsyncIteration):  # closed, not left suspended mid-stream
        await anext(stream)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_calls = st.lists(
    st.builds(
        ToolCall,
        id=st.from_regex(r"call_[a-z0-9]{1,8}", fullmatch=True),
        name=st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        arguments=st.dictionaries(st.text(max_size=8), _json, max_size=4),
    ),
    max_size=3,
)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200), calls=_calls)
async def test_any_response_reassembles_from_its_stream(text: str, calls: list[ToolCall]) -> None:
    answer = LLMResponse(model="m", provider="p", message=Message.assistant(text, tuple(calls)))
    events = await collect(ScriptedProvider([answer]))
    got_text, streamed = reassemble(events)
    assert got_text == text
    for chunk in (e.text for e in events if isinstance(e, TextDelta)):
        assert re.fullmatch(r"\S+\s*|\s+", chunk)
    assert [(i, n, json.loads(a)) for i, n, a in streamed] == [
        (c.id, c.name, c.arguments) for c in calls
    ]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message == answer.message
