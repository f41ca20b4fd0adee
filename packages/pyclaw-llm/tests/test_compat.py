"""``OpenAICompatibleProvider`` specifics: lenient SSE, odd servers, configuration, lightness."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from pyclaw.llm import OpenAICompatibleProvider
from pyclaw.llm.testing import FakeOpenAIServer
from pyclaw.meta import (
    ConfigError,
    LLMRequest,
    Message,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
)

REQUEST = LLMRequest(model="llama", messages=(Message.user("hi"),))


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> OpenAICompatibleProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenAICompatibleProvider("http://local.test/v1", model="llama", http_client=client)


def sse_response(body: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)


def chunk(delta: dict[str, object], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "c1", "model": "llama", "choices": [choice]})


async def collect(provider: OpenAICompatibleProvider) -> list[StreamEvent]:
    return [event async for event in provider.stream(REQUEST)]


async def test_sloppy_sse_is_read() -> None:
    body = (
        ": a comment\r\n"
        f"data:{chunk({'role': 'assistant'})}\r\n"  # no space after "data:", CRLF
        f"data: {chunk({'content': 'Hel'})}\n"  # no blank line between events
        "event: message\n"
        f"data: {chunk({'content': 'lo'}, 'stop')}\n\n"
        'data: {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
        "data: [DONE]\n\n"
    )
    events = await collect(mock(lambda _: sse_response(body)))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.text == "Hello"
    assert done.response.usage.output_tokens == 2


async def test_stream_that_ends_cleanly_before_finish_is_an_error() -> None:
    body = f"data: {chunk({'content': 'Half'})}\n\n"  # the body ends: no finish_reason, no [DONE]
    with pytest.raises(ProviderError, match="ended before the response was complete") as info:
        await collect(mock(lambda _: sse_response(body)))
    assert info.value.retryable


async def test_finish_reason_without_done_marker_is_complete() -> None:
    body = f"data: {chunk({'content': 'ok'}, 'stop')}\n\n"
    events = await collect(mock(lambda _: sse_response(body)))
    assert isinstance(events[-1], ResponseDone)


async def test_server_that_ignores_stream_true_still_streams() -> None:
    whole = {
        "id": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi there"},
                "finish_reason": "stop",
            }
        ],
    }
    events = await collect(mock(lambda _: httpx.Response(200, json=whole)))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hi ", "there"]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.text == "Hi there"


async def test_html_error_page_is_one_clear_line() -> None:
    page = "<html>\n<body>502 Bad Gateway</body>\n</html>"
    provider = mock(lambda _: httpx.Response(502, text=page))
    with pytest.raises(ProviderError) as info:
        await provider.complete(REQUEST)
    assert (
        str(info.value)
        == "openai-compatible: HTTP 502: <html> <body>502 Bad Gateway</body> </html>"
    )
    assert info.value.retryable


async def test_request_shape_headers_and_model_fallback() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        message = {"role": "assistant", "content": "ok"}
        return httpx.Response(
            200, json={"choices": [{"message": message, "finish_reason": "stop"}]}
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    provider = OpenAICompatibleProvider(
        "http://local.test/v1/",
        model="default-model",
        headers={"X-Team": "core"},
        http_client=client,
    )
    response = await provider.complete(REQUEST.model_copy(update={"model": ""}))
    [request] = seen
    assert str(request.url) == "http://local.test/v1/chat/completions"
    assert request.headers["x-team"] == "core"
    assert "authorization" not in request.headers  # no key, no header
    assert json.loads(request.content)["model"] == "default-model"
    assert response.model == "default-model"
    assert response.cost_usd is None  # a local model has no known price
    await provider.aclose()
    assert not client.is_closed  # a client passed in belongs to the caller
    await client.aclose()


async def test_owned_client_is_closed_by_the_context_manager() -> None:
    with FakeOpenAIServer() as server:
        async with OpenAICompatibleProvider(server.base_url, model="m") as provider:
            assert (await provider.complete(REQUEST)).message.text == "hi"
        with pytest.raises(RuntimeError):
            await provider.complete(REQUEST)


@pytest.mark.parametrize(
    ("url", "timeout"), [("localhost:8080/v1", 10.0), ("http://h/v1", 0.0), ("http://h/v1", -1.0)]
)
def test_bad_configuration(url: str, timeout: float) -> None:
    with pytest.raises(ConfigError):
        OpenAICompatibleProvider(url, model="m", timeout=timeout)


def test_importing_pyclaw_llm_imports_no_sdk() -> None:
    code = (
        "import sys, pyclaw.llm\n"
        "print(sorted(m for m in ('openai', 'anthropic') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
