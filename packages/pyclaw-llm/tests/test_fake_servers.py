"""The fake OpenAI and Anthropic servers: wire format, scripting, faults, request log.

Checked with plain httpx (exact bytes) and with the vendors' own SDKs when installed (fidelity).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from pyclaw.llm.testing import (
    DropFault,
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeReply,
    HangFault,
    MalformedJSONFault,
    StatusFault,
    StreamErrorFault,
)
from pyclaw.meta import StopReason, ToolCall, Usage

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello fake"}]}
MESSAGES = {"model": "claude-x", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server
    assert server.errors == []


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


def sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name, decoded data) of every event in a server-sent-events body."""
    out: list[tuple[str | None, Any]] = []
    for block in text.strip().split("\n\n"):
        event = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((event, data if data == "[DONE]" else json.loads(data)))
    return out


# --- OpenAI, raw wire ----------------------------------------------------------------------------


async def test_openai_default_reply_echoes_and_request_is_recorded(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    reply = await client.post(
        f"{openai_server.base_url}/chat/completions", json=CHAT, headers={"X-Trace": "t1"}
    )
    assert reply.status_code == 200
    data = reply.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["content"] == "Hello fake"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["prompt_tokens"] == 3  # ceil(len("Hello fake") / 4)
    [recorded] = openai_server.requests
    assert (recorded.method, recorded.path, recorded.body) == ("POST", "/v1/chat/completions", CHAT)
    assert recorded.headers["x-trace"] == "t1"
    assert not recorded.stream


async def test_openai_stream_wire_format_with_tool_fragments_and_usage(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    call = ToolCall(id="call_a", name="weather", arguments={"city": "Oslo"})
    openai_server.add(FakeReply(text="One moment.", tool_calls=[call], argument_chunk=5))
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    reply = await client.post(f"{openai_server.base_url}/chat/completions", json=body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["transfer-encoding"] == "chunked"
    events = sse(reply.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [data for _, data in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": "", "refusal": None}
    assert "".join(d.get("content", "") for d in deltas) == "One moment."
    fragments = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert fragments[0]["id"] == "call_a"
    assert fragments[0]["function"] == {"name": "weather", "arguments": ""}
    assert [f["function"]["arguments"] for f in fragments[1:]] == ['{"cit', 'y":"O', 'slo"}']
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])


async def test_openai_stream_without_include_usage_has_no_usage_chunk(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    reply = await client.post(
        f"{openai_server.base_url}/chat/completions", json={**CHAT, "stream": True}
    )
    chunks = [data for _, data in sse(reply.text)[:-1]]
    assert all(c["choices"] and "usage" not in c for c in chunks)


async def test_openai_validation_auth_and_unknown_paths(client: httpx.AsyncClient) -> None:
    key = "sk-fake-0123456789abcdef"
    with FakeOpenAIServer(api_key=key) as server:
        url = f"{server.base_url}/chat/completions"
        denied = await client.post(
            url, json=CHAT, headers={"Authorization": "Bearer sk-wrong-key-1234"}
        )
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong-key-1234" not in denied.text  # masked, as OpenAI does
        auth = {"Authorization": f"Bearer {key}"}
        missing = await client.post(url, json={"model": "m"}, headers=auth)
        assert missing.status_code == 400
        assert missing.json()["error"]["type"] == "invalid_request_error"
        broken = await client.post(url, content=b"{nope", headers=auth)
        assert broken.status_code == 400
        assert (await client.post(url, json=CHAT, headers=auth)).status_code == 200
        assert (await client.get(f"{server.base_url}/models")).status_code == 404
        assert server.errors == []


async def test_status_fault_sends_error_json_and_retry_after(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(StatusFault(429, retry_after=2.5), StatusFault(503, headers={"x-extra": "1"}))
    url = f"{openai_server.base_url}/chat/completions"
    limited = await client.post(url, json=CHAT)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2.5"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    unavailable = await client.post(url, json=CHAT)
    assert (unavailable.status_code, unavailable.headers["x-extra"]) == (503, "1")
    assert unavailable.json()["error"]["type"] == "server_error"
    assert openai_server.remaining == 0


async def test_malformed_json_fault(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(MalformedJSONFault(), MalformedJSONFault(body="{oops"))
    url = f"{openai_server.base_url}/chat/completions"
    plain = await client.post(url, json=CHAT)
    assert plain.status_code == 200
    with pytest.raises(ValueError):
        plain.json()
    streamed = await client.post(url, json={**CHAT, "stream": True})
    assert streamed.text == "data: {oops\n\n"


async def test_drop_fault_cuts_json_and_streams(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(DropFault(), DropFault(after_events=2))
    url = f"{openai_server.base_url}/chat/completions"
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(url, json=CHAT)
    seen: list[str] = []

    async def read() -> None:
        async with client.stream("POST", url, json={**CHAT, "stream": True}) as response:
            async for line in response.aiter_lines():
                seen.append(line)

    with pytest.raises(httpx.RemoteProtocolError):
        await read()
    assert len([line for line in seen if line.startswith("data: ")]) == 2


async def test_hang_fault_ends_when_the_client_leaves_and_counts_a_disconnect(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.add(HangFault(seconds=30))
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(f"{openai_server.base_url}/chat/completions", json=CHAT)
    assert await openai_server.until_disconnect(seconds=3)
    assert openai_server.disconnects == 1
    assert time.monotonic() - started < 3


def test_stop_ends_a_hang_promptly() -> None:
    server = FakeOpenAIServer([HangFault(seconds=60)]).start()
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(
                httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=10).status_code
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    while not server.requests:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    worker.join(5)
    assert time.monotonic() - started < 2
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.HTTPError)


async def test_stream_error_fault_and_non_streamed_equivalent(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(StreamErrorFault(message="overloaded", after_events=1), StreamErrorFault())
    url = f"{openai_server.base_url}/chat/completions"
    streamed = sse((await client.post(url, json={**CHAT, "stream": True})).text)
    assert len(streamed) == 2
    assert streamed[-1][1]["error"]["message"] == "overloaded"
    assert (await client.post(url, json=CHAT)).status_code == 500


def test_script_items_are_checked() -> None:
    server = FakeOpenAIServer()
    with pytest.raises(TypeError, match="fake server step"):
        server.add(42)  # pyright: ignore[reportArgumentType] - the point of the test
    with pytest.raises(TypeError):
        server.add([])
    server.add("a", ToolCall(name="f"), [ToolCall(name="f"), ToolCall(name="g")], FakeReply())
    assert server.remaining == 4
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


async def test_reply_options_model_usage_stop_reason(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(
        FakeReply(
            text="cut",
            model="gpt-4o-2024-08-06",
            usage=Usage(input_tokens=50, output_tokens=5, cached_tokens=20),
            stop_reason=StopReason.MAX_TOKENS,
        )
    )
    data = (await client.post(f"{openai_server.base_url}/chat/completions", json=CHAT)).json()
    assert data["model"] == "gpt-4o-2024-08-06"
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["prompt_tokens"] == 50
    assert data["usage"]["prompt_tokens_details"]["cached_tokens"] == 20


async def test_chunk_delay_paces_the_stream(
    openai_server: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    openai_server.add(FakeReply(text="a b c", chunk_delay=0.05))
    started = time.monotonic()
    await client.post(f"{openai_server.base_url}/chat/completions", json={**CHAT, "stream": True})
    assert time.monotonic() - started >= 0.05 * 6  # role, 3 words, finish, [DONE]


# --- Anthropic, raw wire -------------------------------------------------------------------------


async def test_anthropic_json_reply_with_tool_use_and_cache_usage(
    anthropic_server: FakeAnthropicServer, client: httpx.AsyncClient
) -> None:
    call = ToolCall(id="toolu_1", name="weather", arguments={"city": "Oslo"})
    usage = Usage(input_tokens=100, output_tokens=7, cached_tokens=30)
    anthropic_server.add(FakeReply(text="Checking.", tool_calls=[call], usage=usage))
    reply = await client.post(f"{anthropic_server.base_url}/v1/messages", json=MESSAGES)
    data = reply.json()
    assert reply.headers["request-id"].startswith("req_")
    assert data["type"] == "message"
    assert data["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
    ]
    assert data["stop_reason"] == "tool_use"
    assert data["usage"]["input_tokens"] == 70  # Anthropic counts cache reads apart
    assert data["usage"]["cache_read_input_tokens"] == 30
    assert data["usage"]["output_tokens"] == 7


async def test_anthropic_stream_event_sequence(
    anthropic_server: FakeAnthropicServer, client: httpx.AsyncClient
) -> None:
    call = ToolCall(id="toolu_2", name="f", raw_arguments='{"a": [1, 2')
    anthropic_server.add(FakeReply(text="Hi there", tool_calls=[call], argument_chunk=4))
    reply = await client.post(
        f"{anthropic_server.base_url}/v1/messages", json={**MESSAGES, "stream": True}
    )
    events = sse(reply.text)
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["content"] == []
    assert events[6][1]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_2",
        "name": "f",
        "input": {},
    }
    partial = "".join(d["delta"]["partial_json"] for _, d in events[7:10])
    assert partial == '{"a": [1, 2'  # malformed arguments stream as they are
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_anthropic_errors_validation_and_auth(client: httpx.AsyncClient) -> None:
    with FakeAnthropicServer([StatusFault(429, retry_after=4)], api_key="sk-ant-fake") as server:
        url = f"{server.base_url}/v1/messages"
        auth = {"x-api-key": "sk-ant-fake"}
        limited = await client.post(url, json=MESSAGES, headers=auth)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "4"
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert limited.json()["type"] == "error"
        unauthorized = await client.post(url, json=MESSAGES, headers={"x-api-key": "nope"})
        assert unauthorized.json()["error"]["type"] == "authentication_error"
        bearer = {"Authorization": "Bearer sk-ant-fake"}
        no_max = {k: v for k, v in MESSAGES.items() if k != "max_tokens"}
        invalid = await client.post(url, json=no_max, headers=bearer)
        assert invalid.status_code == 400
        assert invalid.json()["error"]["message"] == "max_tokens: Field required"
        server.add(StreamErrorFault(after_events=1))
        streamed = sse(
            (await client.post(url, json={**MESSAGES, "stream": True}, headers=auth)).text
        )
        assert streamed[-1][0] == "error"
        assert streamed[-1][1]["error"]["type"] == "overloaded_error"
        server.add(StreamErrorFault())
        assert (await client.post(url, json=MESSAGES, headers=auth)).status_code == 529


# --- through the vendors' SDKs -------------------------------------------------------------------


async def test_openai_sdk_reads_the_fake(openai_server: FakeOpenAIServer) -> None:
    openai = pytest.importorskip(
        "openai", reason="the [openai] extra is not installed (the per-package isolation run)"
    )
    calls = [
        ToolCall(id="c1", name="f", arguments={"x": 1}),
        ToolCall(id="c2", name="g", arguments={"y": "two"}),
    ]
    openai_server.add("Hello SDK", calls, StatusFault(429, retry_after=1), DropFault())
    sdk = openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="sk-x", max_retries=0)
    async with sdk:
        text = await sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert text.choices[0].message.content == "Hello SDK"
        stream = await sdk.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        arguments: dict[int, str] = {}
        usage = None
        async for chunk in stream:
            usage = chunk.usage or usage
            for piece in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                arguments[piece.index] = arguments.get(piece.index, "") + (
                    piece.function.arguments or "" if piece.function else ""
                )
        assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"x": 1}, 1: {"y": "two"}}
        assert usage is not None
        assert usage.completion_tokens > 0
        with pytest.raises(openai.RateLimitError) as limited:
            await sdk.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
        assert limited.value.response.headers["retry-after"] == "1"
        with pytest.raises(openai.APIConnectionError):
            await sdk.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )


async def test_anthropic_sdk_reads_the_fake(anthropic_server: FakeAnthropicServer) -> None:
    anthropic = pytest.importorskip(
        "anthropic", reason="the [anthropic] extra is not installed (the per-package isolation run)"
    )
    call = ToolCall(id="toolu_9", name="lookup", arguments={"q": "pyclaw", "n": 3})
    anthropic_server.add(
        "Plain answer",
        FakeReply(
            text="Let me look.",
            tool_calls=[call],
            usage=Usage(input_tokens=40, output_tokens=9, cached_tokens=10),
        ),
        StatusFault(429, retry_after=2),
        DropFault(after_events=4),
    )
    sdk = anthropic.AsyncAnthropic(base_url=anthropic_server.base_url, api_key="k", max_retries=0)
    async with sdk:
        message = await sdk.messages.create(
            model="claude-x", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.content[0].text == "Plain answer"  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        async with sdk.messages.stream(
            model="claude-x", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = await stream.get_final_message()
        assert [block.type for block in final.content] == ["text", "tool_use"]
        assert final.content[1].input == {"q": "pyclaw", "n": 3}  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        assert final.stop_reason == "tool_use"
        assert (final.usage.input_tokens, final.usage.cache_read_input_tokens) == (30, 10)
        with pytest.raises(anthropic.RateLimitError) as limited:
            await sdk.messages.create(
                model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        assert limited.value.response.headers["retry-after"] == "2"
        # the SDK lets the transport's own error through when a stream is cut
        with pytest.raises(Exception, match="incomplete chunked read") as cut:
            async with sdk.messages.stream(
                model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                await stream.get_final_message()
        assert type(cut.value).__name__ == "RemoteProtocolError"


async def test_servers_work_as_async_context_managers() -> None:
    async with FakeAnthropicServer() as server, httpx.AsyncClient() as http:
        reply = await http.post(f"{server.base_url}/v1/messages", json=MESSAGES)
        assert reply.json()["content"][0]["text"] == "Hi"
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        _ = server.port
