"""Reading Messages API answers (pure): content blocks, stop reasons, usage, stream events."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip(
    "anthropic", reason="the [anthropic] extra is not installed (the per-package isolation run)"
)

from anthropic.types import Message as ApiMessage
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from pyclaw.llm.anthropic import build_call
from pyclaw.llm.anthropic._answer import AnswerBuilder
from pyclaw.llm.anthropic._read import StreamReader, read_message
from pyclaw.meta import (
    LLMRequest,
    LLMResponse,
    Message,
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

EVENT = TypeAdapter[RawMessageStreamEvent](RawMessageStreamEvent)


def builder(**fields: Any) -> AnswerBuilder:
    request = LLMRequest(model="claude-x", messages=(Message.user("hi"),), **fields)
    return AnswerBuilder(
        build_call(request, model="claude-x", default_max_tokens=10),
        provider="anthropic",
        model="m",
    )


def api_message(
    content: list[dict[str, Any]], stop: str | None = "end_turn", **usage: int
) -> ApiMessage:
    return ApiMessage.construct(  # as the SDK builds responses: without validation
        id="msg_1",
        type="message",
        role="assistant",
        model="claude-x-2025",
        content=content,
        stop_reason=stop,
        usage={"input_tokens": 10, "output_tokens": 5, **usage},
    )


def read(
    content: list[dict[str, Any]], stop: str | None = "end_turn", **fields: Any
) -> LLMResponse:
    answer = builder(**fields)
    read_message(api_message(content, stop), answer)
    return answer.response(1.5)


def test_text_and_tool_use_blocks_become_text_and_tool_calls() -> None:
    response = read(
        [
            {"type": "text", "text": "Let me check. "},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
        ],
        "tool_use",
    )
    assert response.message.text == "Let me check. "
    assert response.message.tool_calls == (
        ToolCall(id="toolu_1", name="weather", arguments={"city": "Oslo"}),
        ToolCall(id="toolu_2", name="weather", arguments={"city": "Rome"}),
    )
    assert (response.stop_reason, response.response_id, response.model) == (
        StopReason.TOOL_USE,
        "msg_1",
        "claude-x-2025",
    )
    assert (response.provider, response.latency_ms) == ("anthropic", 1.5)


@pytest.mark.parametrize(
    ("api", "ours"),
    [
        ("end_turn", StopReason.END_TURN),
        ("tool_use", StopReason.TOOL_USE),
        ("max_tokens", StopReason.MAX_TOKENS),
        ("stop_sequence", StopReason.STOP_SEQUENCE),
        ("refusal", StopReason.CONTENT_FILTER),
        ("model_context_window_exceeded", StopReason.MAX_TOKENS),
        (None, StopReason.END_TURN),
    ],
)
def test_stop_reasons_are_mapped(api: str | None, ours: StopReason) -> None:
    assert read([{"type": "text", "text": "x"}], api).stop_reason is ours


def test_usage_counts_cache_reads_and_writes_as_input_and_reads_as_cached() -> None:
    answer = builder()
    message = api_message(
        [{"type": "text", "text": "x"}],
        cache_creation_input_tokens=100,
        cache_read_input_tokens=1000,
    )
    read_message(message, answer)
    assert answer.response(None).usage == Usage(
        input_tokens=1110, output_tokens=5, cached_tokens=1000
    )


def test_dotted_tool_names_come_back_under_their_own_name() -> None:
    response = read(
        [{"type": "tool_use", "id": "t", "name": "mcp_search", "input": {}}],
        "tool_use",
        tools=(ToolSpec(name="mcp.search", description="s"),),
    )
    assert response.message.tool_calls[0].name == "mcp.search"


@pytest.mark.parametrize(
    ("tool_input", "raw", "problem"),
    [
        ('{"city": "Os', '{"city": "Os', "not valid JSON"),  # undecoded, truncated JSON text
        ([1, 2], "[1, 2]", "must be a JSON object"),
    ],
)
def test_a_tool_input_that_is_not_an_object_is_a_structured_error(
    tool_input: object, raw: str, problem: str
) -> None:
    block = {"type": "tool_use", "id": "t", "name": "w", "input": tool_input}
    response = read([block], "tool_use")
    [call] = response.message.tool_calls
    assert (call.arguments, call.raw_arguments) == ({}, raw)
    [error] = response.tool_call_errors
    assert error.type == "MalformedToolArguments"
    assert problem in error.message
    assert error.details["call_id"] == "t"


SCHEMA: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}


def test_the_forced_output_tool_comes_back_as_json_text() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "place", "schema": SCHEMA},
    }
    response = read(
        [{"type": "tool_use", "id": "t", "name": "place", "input": {"city": "Oslo"}}],
        "tool_use",
        response_format=fmt,
    )
    assert json.loads(response.message.text) == {"city": "Oslo"}
    assert response.message.tool_calls == ()
    assert response.stop_reason is StopReason.END_TURN


def test_a_wrapped_output_schema_is_unwrapped() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "names", "schema": {"type": "array"}},
    }
    response = read(
        [{"type": "tool_use", "id": "t", "name": "names", "input": {"value": ["a", "b"]}}],
        "tool_use",
        response_format=fmt,
    )
    assert json.loads(response.message.text) == ["a", "b"]


def sse(events: list[dict[str, Any]], **fields: Any) -> tuple[list[StreamEvent], LLMResponse, bool]:
    answer = builder(**fields)
    reader = StreamReader(answer)
    out: list[StreamEvent] = []
    for raw in events:
        out.extend(reader.feed(EVENT.validate_python(raw)))
    return out, answer.response(None), reader.done


def start(**usage: int) -> dict[str, Any]:
    message = {
        "id": "msg_s",
        "type": "message",
        "role": "assistant",
        "model": "claude-x-2025",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 20, "output_tokens": 1, **usage},
    }
    return {"type": "message_start", "message": message}


def tool_start(index: int, call_id: str, name: str) -> dict[str, Any]:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    return {"type": "content_block_start", "index": index, "content_block": block}


def json_delta(index: int, text: str) -> dict[str, Any]:
    delta = {"type": "input_json_delta", "partial_json": text}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def end(reason: str, output_tokens: int, **usage: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens, **usage},
        },
        {"type": "message_stop"},
    ]


def test_a_stream_of_text_and_tool_calls_maps_to_pyclaw_events() -> None:
    events, response, done = sse(
        [
            start(cache_read_input_tokens=4),
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi "},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "there"},
            },
            stop(0),
            tool_start(1, "toolu_a", "weather"),
            json_delta(1, '{"city": '),
            tool_start(2, "toolu_b", "weather"),
            json_delta(2, '{"city": "Rome"}'),
            json_delta(1, '"Oslo"}'),
            stop(2),
            stop(1),
            *end("tool_use", 30),
        ]
    )
    assert done
    oslo = ToolCall(id="toolu_a", name="weather", arguments={"city": "Oslo"})
    rome = ToolCall(id="toolu_b", name="weather", arguments={"city": "Rome"})
    assert events == [
        TextDelta(text="Hi "),
        TextDelta(text="there"),
        ToolCallDelta(index=0, id="toolu_a", name="weather"),
        ToolCallDelta(index=0, arguments_delta='{"city": '),
        ToolCallDelta(index=1, id="toolu_b", name="weather"),
        ToolCallDelta(index=1, arguments_delta='{"city": "Rome"}'),
        ToolCallDelta(index=0, arguments_delta='"Oslo"}'),
        ToolCallReady(call=rome),
        ToolCallReady(call=oslo),
    ]
    assert response.message.text == "Hi there"
    assert response.message.tool_calls == (oslo, rome)  # content order, not finishing order
    assert response.stop_reason is StopReason.TOOL_USE
    assert response.usage == Usage(input_tokens=24, output_tokens=30, cached_tokens=4)
    assert response.response_id == "msg_s"


def test_malformed_streamed_tool_input_is_kept_raw_with_an_error() -> None:
    events, response, _ = sse(
        [
            start(),
            tool_start(0, "toolu_x", "weather"),
            json_delta(0, '{"city": Oslo'),
            stop(0),
            *end("tool_use", 3),
        ]
    )
    ready = [e for e in events if isinstance(e, ToolCallReady)]
    assert ready == [
        ToolCallReady(call=ToolCall(id="toolu_x", name="weather", raw_arguments='{"city": Oslo'))
    ]
    [error] = response.tool_call_errors
    assert error.details["call_id"] == "toolu_x"
    assert "not valid JSON" in error.message


def test_a_tool_call_without_input_deltas_has_empty_arguments() -> None:
    events, _, _ = sse([start(), tool_start(0, "t", "now"), stop(0), *end("tool_use", 1)])
    assert ToolCallReady(call=ToolCall(id="t", name="now")) in events


def test_message_delta_usage_overrides_message_start_counts() -> None:
    _, response, _ = sse([start(), *end("end_turn", 9, input_tokens=50, cache_read_input_tokens=7)])
    assert response.usage == Usage(input_tokens=57, output_tokens=9, cached_tokens=7)


def test_a_stream_without_message_stop_is_not_done() -> None:
    _, _, done = sse([start(), stop(0)])
    assert not done


def test_the_forced_output_tool_streams_as_one_text_delta() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "place", "schema": SCHEMA},
    }
    events, response, _ = sse(
        [
            start(),
            tool_start(0, "t", "place"),
            json_delta(0, '{"city"'),
            json_delta(0, ': "Oslo"}'),
            stop(0),
            *end("tool_use", 5),
        ],
        response_format=fmt,
    )
    assert events == [TextDelta(text='{"city": "Oslo"}')]
    assert response.message.text == '{"city": "Oslo"}'
    assert response.stop_reason is StopReason.END_TURN
    assert ResponseDone(response=response).response.message.tool_calls == ()
