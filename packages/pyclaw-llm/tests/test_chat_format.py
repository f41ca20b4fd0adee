"""The Chat Completions mapping (request body, response, stream chunks), SSE lines and HTTP errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from pyclaw.llm._chat_format import chat_request_body, parse_chat_completion, response_format_param
from pyclaw.llm._chat_stream import ChatStreamAssembler
from pyclaw.llm._http_errors import (
    error_detail,
    is_retryable_status,
    parse_retry_after,
    redact,
    status_error,
)
from pyclaw.llm._sse import sse_data
from pyclaw.meta import (
    ErrorInfo,
    ImagePart,
    LLMRequest,
    Message,
    ProviderError,
    ResponseDone,
    StopReason,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallReady,
    ToolResult,
    ToolSpec,
    Usage,
)

SPEC = ToolSpec(
    name="weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def request(*messages: Message, **fields: Any) -> LLMRequest:
    return LLMRequest(model="gpt-4o", messages=messages or (Message.user("hi"),), **fields)


# --- request body ------------------------------------------------------------------------------


def test_request_body_maps_every_field() -> None:
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Oslo"})
    body = chat_request_body(
        request(
            Message.user("Weather in Oslo?"),
            Message.assistant("Let me check.", (call,)),
            Message.tool(ToolResult(call_id="call_1", name="weather", content="Sunny, 21 C")),
            system="Be brief.",
            tools=(SPEC,),
            temperature=0.2,
            max_tokens=50,
            stop=("END",),
        )
    )
    assert body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather for a city",
                    "parameters": SPEC.parameters,
                },
            }
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["END"],
    }


def test_streaming_body_asks_for_usage_and_official_endpoint_gets_max_completion_tokens() -> None:
    body = chat_request_body(
        request(max_tokens=9), model="o3", stream=True, max_tokens_field="max_completion_tokens"
    )
    assert body["model"] == "o3"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_completion_tokens"] == 9
    assert "max_tokens" not in body


def test_assistant_tool_call_only_has_null_content_and_raw_arguments_are_sent_back() -> None:
    bad = ToolCall(id="c9", name="weather", raw_arguments='{"city": Oslo')
    [message] = chat_request_body(request(Message.assistant(tool_calls=(bad,))))["messages"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["arguments"] == '{"city": Oslo'


def test_images_become_image_url_parts() -> None:
    user = Message(
        role="user",
        parts=(
            TextPart(text="What is this?"),
            ImagePart(media_type="image/jpeg", data_base64="AAAA"),
            ImagePart(url="https://example.com/cat.png"),
        ),
    )
    [message] = chat_request_body(request(user))["messages"]
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]


def test_image_without_bytes_or_url_is_refused() -> None:
    with pytest.raises(ProviderError, match="neither data_base64 nor url"):
        chat_request_body(request(Message(role="user", parts=(ImagePart(),))))


def test_tool_results_in_any_message_become_tool_messages_with_error_text() -> None:
    failed = ToolResult(
        call_id="c1",
        name="weather",
        status="error",
        error=ErrorInfo(type="ToolError", message="city unknown"),
    )
    mixed = Message(role="user", parts=(*Message.tool(failed).parts, TextPart(text="and now?")))
    assert chat_request_body(request(mixed))["messages"] == [
        {"role": "tool", "tool_call_id": "c1", "content": "error: city unknown"},
        {"role": "user", "content": "and now?"},
    ]


def test_response_format_passes_api_shape_and_wraps_a_bare_schema() -> None:
    api = {"type": "json_object"}
    assert response_format_param(api) == api
    schema = {"title": "City Report!", "type": "object", "properties": {"t": {"type": "number"}}}
    assert response_format_param(schema) == {
        "type": "json_schema",
        "json_schema": {"name": "City_Report_", "schema": schema},
    }
    body = chat_request_body(request(response_format=schema))
    assert body["response_format"]["type"] == "json_schema"


# --- response ----------------------------------------------------------------------------------


def completion(
    message: dict[str, Any], finish: str | None = "stop", **extra: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 40},
        },
        **extra,
    }


def test_parse_text_response_with_usage_cost_and_ids() -> None:
    data = completion({"role": "assistant", "content": "Hello"})
    response = parse_chat_completion(data, provider="p", model="fallback", latency_ms=3.0)
    assert response.message.text == "Hello"
    assert response.stop_reason is StopReason.END_TURN
    assert response.usage == Usage(input_tokens=100, output_tokens=10, cached_tokens=40)
    assert response.model == "gpt-4o-2024-08-06"
    assert response.response_id == "chatcmpl-1"
    assert response.provider == "p"
    assert response.latency_ms == 3.0
    # gpt-4o: 2.50 in, 1.25 cached in, 10.00 out per million tokens
    assert response.cost_usd == pytest.approx((60 * 2.5 + 40 * 1.25 + 10 * 10.0) / 1e6)


def test_parse_tool_calls_keeps_malformed_arguments_as_structured_errors() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{'x': 1"}},
            {"id": "c", "type": "function", "function": {"name": "h", "arguments": {"y": 2}}},
        ],
    }
    response = parse_chat_completion(completion(message, "tool_calls"), provider="p", model="m")
    calls = response.message.tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {}),
        ("c", "h", {"y": 2}),
    ]
    assert calls[1].raw_arguments == "{'x': 1"
    assert response.stop_reason is StopReason.TOOL_USE
    [error] = response.tool_call_errors
    assert error.type == "MalformedToolArguments"
    assert error.details["call_id"] == "b"


@pytest.mark.parametrize(
    ("finish", "calls", "expected"),
    [
        ("length", False, StopReason.MAX_TOKENS),
        ("content_filter", False, StopReason.CONTENT_FILTER),
        ("stop", True, StopReason.TOOL_USE),  # local servers say "stop" after tool calls
        (None, False, StopReason.END_TURN),
        ("something_new", False, StopReason.END_TURN),
    ],
)
def test_finish_reasons(finish: str | None, calls: bool, expected: StopReason) -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "x"}
    if calls:
        message["tool_calls"] = [{"id": "a", "function": {"name": "f", "arguments": "{}"}}]
    response = parse_chat_completion(completion(message, finish), provider="p", model="m")
    assert response.stop_reason is expected


@pytest.mark.parametrize(
    "data", [[], {"choices": []}, {"choices": [{"index": 0}]}, {"choices": "x"}, "text"]
)
def test_response_without_a_choice_is_a_retryable_error(data: object) -> None:
    with pytest.raises(ProviderError) as info:
        parse_chat_completion(data, provider="p", model="m")
    assert info.value.retryable
    assert info.value.provider == "p"


def test_refusal_and_content_parts_become_text() -> None:
    refusal = completion({"role": "assistant", "content": None, "refusal": "I can't."})
    assert parse_chat_completion(refusal, provider="p", model="m").message.text == "I can't."
    parts = completion(
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        }
    )
    assert parse_chat_completion(parts, provider="p", model="m").message.text == "ab"


# --- stream assembly ---------------------------------------------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


TOOL_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Checking "}),
    chunk({"content": "both."}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "a",
                    "type": "function",
                    "function": {"name": "f", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "b",
                    "type": "function",
                    "function": {"name": "g", "arguments": "{oops"},
                }
            ]
        }
    ),
    chunk({}, "tool_calls"),
    {"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
]


def test_stream_assembles_text_and_parallel_tool_calls() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    events = [e for c in TOOL_CHUNKS for e in assembler.feed(c)]
    events += assembler.finish(latency_ms=5.0)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Checking ", "both."]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.index, d.id, d.name, d.arguments_delta) for d in deltas] == [
        (0, "a", "f", ""),
        (0, None, None, '{"ci'),
        (0, None, None, 'ty": "Oslo"}'),
        (1, "b", "g", "{oops"),
    ]
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(c.id, c.arguments, c.raw_arguments) for c in ready] == [
        ("a", {"city": "Oslo"}, None),
        ("b", {}, "{oops"),
    ]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.tool_calls == tuple(ready)
    assert done.response.usage == Usage(input_tokens=7, output_tokens=3)
    assert done.response.stop_reason is StopReason.TOOL_USE
    assert [e.details["call_id"] for e in done.response.tool_call_errors] == ["b"]


def test_stream_result_equals_the_parsed_complete_response() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    for c in TOOL_CHUNKS:
        assembler.feed(c)
    [*_, done] = assembler.finish(latency_ms=1.0)
    whole = completion(
        {
            "role": "assistant",
            "content": "Checking both.",
            "tool_calls": [
                {"id": "a", "function": {"name": "f", "arguments": '{"city": "Oslo"}'}},
                {"id": "b", "function": {"name": "g", "arguments": "{oops"}},
            ],
        },
        "tool_calls",
        id="chatcmpl-9",
        model="gpt-4o",
        usage={"prompt_tokens": 7, "completion_tokens": 3},
    )
    assert isinstance(done, ResponseDone)
    assert done.response == parse_chat_completion(whole, provider="p", model="m", latency_ms=1.0)


def test_stream_calls_without_ids_get_one_id_shared_by_ready_and_done() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    events = assembler.feed(
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}, "stop")
    )
    events += assembler.finish()
    ready = next(e for e in events if isinstance(e, ToolCallReady))
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert ready.call.id.startswith("call_")
    assert done.response.message.tool_calls[0].id == ready.call.id


def test_stream_cut_before_finish_is_a_retryable_error_not_a_half_answer() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    assembler.feed(chunk({"content": "Half an ans"}))
    with pytest.raises(ProviderError, match="ended before the response was complete") as info:
        assembler.finish()
    assert info.value.retryable


def test_done_marker_without_finish_reason_completes_the_stream() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    assembler.feed(chunk({"content": "ok"}))
    assembler.done = True
    [done] = assembler.finish()
    assert isinstance(done, ResponseDone)
    assert done.response.message.text == "ok"


def test_error_chunk_raises() -> None:
    assembler = ChatStreamAssembler(provider="p", model="m")
    with pytest.raises(ProviderError, match=r"error in the stream \(server_error\): boom") as info:
        assembler.feed({"error": {"message": "boom", "type": "server_error"}})
    assert info.value.retryable
    with pytest.raises(ProviderError) as bad:
        assembler.feed({"error": {"message": "no", "type": "invalid_request_error"}})
    assert not bad.value.retryable


# --- SSE lines ---------------------------------------------------------------------------------


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


@pytest.mark.parametrize(
    "raw",
    [
        ['data: {"a":1}', "", 'data: {"a":2}', "", "data: [DONE]", ""],  # standard
        ['data: {"a":1}\r\n', 'data:{"a":2}\r\n', "data: [DONE]\r\n"],  # no blank lines, CRLF
        [
            ": keep-alive",
            "event: chunk",
            'data: {"a":1}',
            "id: 7",
            "retry: 10",
            "",
            'data: {"a":2}',
            "data: [DONE]",
        ],
        [
            'data: {"a":',
            "data: 1}",
            "",
            'data: {"a":2}',
            "",
            "data: [DONE]",
        ],  # one event, two lines
    ],
)
async def test_sse_data_is_read_leniently(raw: list[str]) -> None:
    got = [d async for d in sse_data(lines(*raw))]
    assert [json.loads(d) for d in got[:-1]] == [{"a": 1}, {"a": 2}]
    assert got[-1] == "[DONE]"


# --- HTTP errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (404, False),
        (408, True),
        (409, True),
        (422, False),
        (429, True),
        (500, True),
        (503, True),
        (529, True),
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": later}, now=now.timestamp()) == pytest.approx(30)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now.timestamp()) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-3"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": {
                    "message": "Rate limited",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
            ("requests", "Rate limited"),
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ("overloaded_error", "Overloaded"),
        ),
        ({"message": "inner only", "code": "x"}, ("x", "inner only")),
        ({"error": "model 'llama' not found"}, (None, "model 'llama' not found")),
        (b'{"error": {"message": "bytes"}}', (None, "bytes")),
        ("<html>Bad Gateway</html>", (None, "<html>Bad Gateway</html>")),
        (None, (None, "")),
    ],
)
def test_error_detail_shapes(body: object, expected: tuple[str | None, str]) -> None:
    assert error_detail(body) == expected


def test_status_error_is_one_redacted_line() -> None:
    key = "sk-proj-VERYSECRETkey1234567890"
    error = status_error(
        "openai",
        429,
        {"Retry-After": "3"},
        {"error": {"message": f"Key {key}\nis rate\tlimited", "type": "requests"}},
        secrets=[key],
    )
    assert str(error) == "openai: HTTP 429 requests: Key [redacted] is rate limited"
    assert (error.retryable, error.retry_after, error.status, error.provider) == (
        True,
        3.0,
        429,
        "openai",
    )
    unauthorized = status_error("x", 401, {}, "")
    assert not unauthorized.retryable
    assert unauthorized.hint is not None


def test_redact_catches_bearer_tokens_and_sk_keys_it_was_not_told_about() -> None:
    text = "header Authorization: Bearer abcdefghijkl and sk-ant-api03-abcdefghijklmnop"
    assert redact(text) == "header Authorization: Bearer [redacted] and [redacted]"
