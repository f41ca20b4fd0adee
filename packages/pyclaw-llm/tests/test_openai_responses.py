"""The Responses API mapping (``_responses_format``, no SDK) and the fake server's ``/v1/responses``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pyclaw.llm._responses_format import (
    ResponsesStreamAssembler,
    parse_responses,
    responses_request_body,
)
from pyclaw.llm.testing import FakeOpenAIServer, FakeReply, StatusFault
from pyclaw.meta import (
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


def test_request_body_maps_messages_tools_and_options() -> None:
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Oslo"})
    request = LLMRequest(
        model="ignored",
        system="Be brief.",
        messages=(
            Message(role="user", parts=(TextPart(text="Look:"), ImagePart(url="https://x/y.png"))),
            Message.assistant("Checking.", (call,)),
            Message.tool(ToolResult(call_id="call_1", name="weather", content="Sunny")),
        ),
        tools=(ToolSpec(name="weather", description="Weather"),),
        temperature=0.1,
        max_tokens=64,
        stop=("END",),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": {"type": "object"}},
        },
    )
    body = responses_request_body(request, model="gpt-5", stream=True)
    assert body == {
        "model": "gpt-5",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look:"},
                    {"type": "input_image", "image_url": "https://x/y.png"},
                ],
            },
            {"role": "assistant", "content": "Checking."},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city":"Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
        ],
        "store": False,
        "instructions": "Be brief.",
        "tools": [
            {
                "type": "function",
                "name": "weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {}},
                "strict": False,
            }
        ],
        "temperature": 0.1,
        "max_output_tokens": 64,
        "text": {"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}},
        "stream": True,
    }  # no "stop": the Responses API has no stop sequences


def response(output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-4o",
        "output": output,
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": {"cached_tokens": 20},
            "output_tokens": 5,
        },
        **extra,
    }


MESSAGE = {
    "type": "message",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hi"}],
}
CALL = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_9",
    "name": "f",
    "arguments": "{bad",
}


def test_parse_text_calls_usage_and_malformed_arguments() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": []}
    parsed = parse_responses(response([reasoning, MESSAGE, CALL]), provider="p", model="m")
    assert parsed.message.text == "Hi"
    [call] = parsed.message.tool_calls
    assert (call.id, call.name, call.raw_arguments) == ("call_9", "f", "{bad")
    assert parsed.tool_call_errors[0].details["call_id"] == "call_9"
    assert parsed.stop_reason is StopReason.TOOL_USE
    assert parsed.usage == Usage(input_tokens=50, output_tokens=5, cached_tokens=20)
    assert (parsed.model, parsed.response_id) == ("gpt-4o", "resp_1")


def test_incomplete_and_failed_responses() -> None:
    cut = response(
        [MESSAGE], status="incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    assert parse_responses(cut, provider="p", model="m").stop_reason is StopReason.MAX_TOKENS
    failed = response([], status="failed", error={"code": "server_error", "message": "boom"})
    with pytest.raises(ProviderError, match=r"failed \(server_error\): boom") as info:
        parse_responses(failed, provider="p", model="m")
    assert info.value.retryable
    with pytest.raises(ProviderError, match="not a response object"):
        parse_responses({"object": "chat.completion"}, provider="p", model="m")


def test_stream_assembler_events_and_final_response() -> None:
    assembler = ResponsesStreamAssembler(provider="p", model="m")
    call = {**CALL, "arguments": ""}
    events = [
        *assembler.feed({"type": "response.created", "response": {}}),
        *assembler.feed({"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}),
        *assembler.feed({"type": "response.output_item.added", "output_index": 1, "item": call}),
        *assembler.feed(
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{bad"}
        ),
    ]
    with pytest.raises(ProviderError, match="ended before"):
        assembler.finish()
    assembler.feed({"type": "response.completed", "response": response([MESSAGE, CALL])})
    events += assembler.finish(latency_ms=2.0)
    assert isinstance(events[0], TextDelta)
    assert [
        (e.index, e.id, e.name, e.arguments_delta) for e in events if isinstance(e, ToolCallDelta)
    ] == [
        (0, "call_9", "f", ""),
        (0, None, None, "{bad"),
    ]
    assert isinstance(events[-2], ToolCallReady)
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response == parse_responses(
        response([MESSAGE, CALL]), provider="p", model="m", latency_ms=2.0
    )


def test_stream_error_events_raise() -> None:
    assembler = ResponsesStreamAssembler(provider="p", model="m", secrets=["sk-secret-value"])
    with pytest.raises(ProviderError, match=r"\(rate_limit_exceeded\): slow down \[redacted\]"):
        assembler.feed(
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow down sk-secret-value"}
        )
    with pytest.raises(ProviderError, match="overloaded"):
        assembler.feed(
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_error", "message": "overloaded"}},
            }
        )


async def test_fake_server_responses_endpoint() -> None:
    usage = Usage(input_tokens=9, output_tokens=3, cached_tokens=4)
    call = ToolCall(id="call_x", name="f", arguments={"a": 1})
    script = [
        FakeReply(text="Hi there", tool_calls=[call], usage=usage),
        FakeReply(text="cut", stop_reason=StopReason.MAX_TOKENS),
        StatusFault(429, retry_after=3),
    ]
    with FakeOpenAIServer(script) as server:
        async with httpx.AsyncClient(timeout=5) as http:
            url = f"{server.base_url}/responses"
            body = {"model": "gpt-4o", "input": "hello"}
            data = (await http.post(url, json=body)).json()
            assert [i["type"] for i in data["output"]] == ["message", "function_call"]
            assert data["output"][1]["call_id"] == "call_x"
            assert data["usage"]["input_tokens_details"]["cached_tokens"] == 4
            streamed = (await http.post(url, json={**body, "stream": True})).text
            kinds = [line[7:] for line in streamed.splitlines() if line.startswith("event: ")]
            assert kinds[:2] == ["response.created", "response.in_progress"]
            assert kinds[-1] == "response.incomplete"
            assert "response.output_text.delta" in kinds
            last = json.loads(streamed.strip().splitlines()[-1][6:])
            assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
            limited = await http.post(url, json=body)
            assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
            assert (await http.post(url, json={"model": "m"})).status_code == 400
            echo = await http.post(
                url, json={"model": "m", "input": [{"role": "user", "content": "echo me"}]}
            )
            assert echo.json()["output"][0]["content"][0]["text"] == "echo me"
        assert server.errors == []
