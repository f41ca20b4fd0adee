"""``CortensorProvider`` against ``FakeCortensorRouter`` on 127.0.0.1: completions (JSON and
stream), the chat template, the gateway envelope, and failures as clear ``ProviderError``s."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from pyclaw.llm import ProviderSettings, RetryingProvider, build_provider
from pyclaw.llm.cortensor import (
    DEFAULT_TIMEOUT,
    CortensorClient,
    CortensorProvider,
    Routes,
    render_prompt,
)
from pyclaw.llm.testing import (
    DropFault,
    FakeCortensorRouter,
    FakeReply,
    HangFault,
    MalformedJSONFault,
    StatusFault,
    StreamErrorFault,
)
from pyclaw.meta import (
    ConfigError,
    LLMRequest,
    Message,
    ProviderError,
    ResponseDone,
    StopReason,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
)

KEY = "router-key-0123456789"
REQUEST = LLMRequest(
    model="", system="Be brief.", messages=(Message.user("What is 6 x 7?"),), max_tokens=64
)


def provider(router: FakeCortensorRouter, **kwargs: object) -> CortensorProvider:
    options: dict[str, object] = {"api_key": KEY, "session_id": "12", "progress_every": None}
    options.update(kwargs)
    client = CortensorClient(router.base_url, **options)  # pyright: ignore[reportArgumentType] - test options
    return CortensorProvider(client, model="cortensor-test")


async def test_completion_renders_a_chatml_prompt_and_maps_the_answer() -> None:
    usage = Usage(input_tokens=0, output_tokens=3)
    with FakeCortensorRouter(
        [FakeReply(text=" 42<|im_end|>ignored", usage=usage)], api_key=KEY
    ) as router:
        async with provider(router) as llm:
            response = await llm.complete(REQUEST)
    assert response.message.text == "42"
    assert response.provider == "cortensor"
    assert response.model == "fake-miner-model"
    assert response.stop_reason is StopReason.END_TURN
    assert response.usage.output_tokens == 3
    assert response.usage.input_tokens > 0
    assert response.response_id is not None
    assert response.response_id.startswith("cmpl-")
    (sent,) = router.requests
    assert sent.path == "/api/v1/completions/12"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.body
    assert body["prompt"] == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWhat is 6 x 7?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert body["stream"] is False
    assert body["max_tokens"] == 64
    assert body["timeout"] == int(DEFAULT_TIMEOUT)
    assert "session_id" not in body  # it is in the path


async def test_stream_yields_deltas_that_add_up_to_the_answer() -> None:
    with FakeCortensorRouter(["The answer is 42."], api_key=KEY) as router:
        async with provider(router) as llm:
            events = [e async for e in llm.stream(REQUEST)]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert "".join(deltas) == done.response.message.text == "The answer is 42."
    assert router.requests[0].body["stream"] is True


async def test_stream_stops_at_the_end_of_turn_marker_split_across_chunks() -> None:
    with FakeCortensorRouter(
        ["Hi there <|im_ end|> no", "Yes <|im_end|><|im_start|>user more"]
    ) as router:
        async with provider(router, api_key=None) as llm:
            first = [e async for e in llm.stream(REQUEST)]
            second = [e async for e in llm.stream(REQUEST)]
    assert isinstance(first[-1], ResponseDone)
    assert first[-1].response.message.text == "Hi there <|im_ end|> no"  # not a marker
    assert isinstance(second[-1], ResponseDone)
    assert second[-1].response.message.text == "Yes"
    assert "".join(e.text for e in second if isinstance(e, TextDelta)) == "Yes"


async def test_tool_history_is_rendered_as_text_and_tools_are_not_sent() -> None:
    call = ToolCall(id="c1", name="read_file", arguments={"path": "a.txt"})
    result = ToolResult(call_id="c1", name="read_file", content="hello")
    request = LLMRequest(
        model="",
        messages=(Message.user("read a.txt"), Message.assistant("", (call,)), Message.tool(result)),
    )
    prompt = render_prompt(request)
    assert '[tool call read_file {"path":"a.txt"}]' in prompt
    assert "<|im_start|>user\n[tool result read_file: hello]<|im_end|>" in prompt
    plain = render_prompt(request, "plain")
    assert plain.startswith("User: read a.txt\n\n")
    assert plain.endswith("Assistant:")


async def test_gateway_envelope_is_unwrapped() -> None:
    with FakeCortensorRouter(["Enveloped."], envelope=True) as router:
        async with provider(router, api_key=None) as llm:
            response = await llm.complete(REQUEST)
    assert response.message.text == "Enveloped."


async def test_failed_envelope_is_a_clear_error() -> None:
    body = '{"request_id": "r1", "status": "failed", "data": null, "error": {"code": "no_miners", "message": "no miners available"}}'
    with FakeCortensorRouter([MalformedJSONFault(body=body)]) as router:
        async with provider(router, api_key=None) as llm:
            with pytest.raises(ProviderError) as caught:
                await llm.complete(REQUEST)
    assert caught.value.message == "cortensor: request failed (no_miners): no miners available"
    assert caught.value.retryable is False


async def test_malformed_envelope_is_a_clear_error() -> None:
    body = '{"request_id": "r1", "status": "ok", "model": "m", "data": null, "error": null}'
    with FakeCortensorRouter([MalformedJSONFault(body=body), MalformedJSONFault()]) as router:
        async with provider(router, api_key=None) as llm:
            with pytest.raises(ProviderError) as caught:
                await llm.complete(REQUEST)
            assert caught.value.message == (
                "cortensor: the gateway envelope says 'ok' but carries no data object"
            )
            assert caught.value.retryable is False
            with pytest.raises(ProviderError, match="the response body is not valid JSON") as bad:
                await llm.complete(REQUEST)
            assert bad.value.retryable is True


async def test_auth_failure_names_the_key_problem_without_the_key() -> None:
    with FakeCortensorRouter(api_key="the-right-key") as router:
        async with provider(router) as llm:
            with pytest.raises(ProviderError) as caught:
                await llm.complete(REQUEST)
        async with provider(router, api_key=None) as anonymous:
            with pytest.raises(ProviderError, match="Invalid Authorization header format"):
                await anonymous.complete(REQUEST)
    error = caught.value
    assert error.message == "cortensor: HTTP 401 unauthorized: Invalid API key"
    assert error.status == 401
    assert error.retryable is False
    assert error.hint is not None
    assert "api_key" in error.hint
    assert KEY not in str(error)


async def test_a_silent_router_times_out_with_a_retryable_error() -> None:
    with FakeCortensorRouter([HangFault(seconds=10)]) as router:
        async with provider(router, api_key=None, timeout=0.3) as llm:
            with pytest.raises(ProviderError, match=r"timed out after 0\.3 s") as caught:
                await llm.complete(REQUEST)
        assert await router.until_disconnect()
    assert caught.value.retryable is True


async def test_router_errors_and_cut_streams_are_retryable() -> None:
    script = [StatusFault(503, "router overloaded", retry_after=2), DropFault(), StreamErrorFault()]
    with FakeCortensorRouter(script) as router:
        async with provider(router, api_key=None) as llm:
            with pytest.raises(ProviderError) as overloaded:
                await llm.complete(REQUEST)
            with pytest.raises(
                ProviderError, match=r"ended before the answer was complete|connection"
            ):
                _ = [e async for e in llm.stream(REQUEST)]
            with pytest.raises(ProviderError, match="mid-stream: The server had an error"):
                _ = [e async for e in llm.stream(REQUEST)]
    assert overloaded.value.retryable is True
    assert overloaded.value.retry_after == 2
    assert overloaded.value.message == "cortensor: HTTP 503 unavailable: router overloaded"


async def test_progress_is_reported_on_long_waits(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, float]] = []
    with FakeCortensorRouter([FakeReply(text="slow", delay=0.35)]) as router:
        async with provider(
            router, api_key=None, progress_every=0.1, on_wait=lambda w, s: seen.append((w, s))
        ) as llm:
            with caplog.at_level(logging.INFO, logger="pyclaw.llm.cortensor"):
                response = await llm.complete(REQUEST)
    assert response.message.text == "slow"
    assert len(seen) >= 2
    assert seen[0][0] == "cortensor completion"
    assert seen == sorted(seen, key=lambda item: item[1])
    assert "still waiting for the Cortensor router" in caplog.text


def test_routes() -> None:
    assert Routes.make("http://r:5010/").completions == "http://r:5010/api/v1/completions"
    routes = Routes.make("http://r:5010/api/v2", api_version="v2", session_id="a b")
    assert routes.completions == "http://r:5010/api/v2/completions/a%20b"
    assert routes.delegate == "http://r:5010/api/v2/delegate"
    assert Routes.make("http://r:5010").validate == "http://r:5010/api/v3/validate"
    with pytest.raises(ConfigError, match="unknown api_version 'v9'"):
        Routes.make("http://r", api_version="v9")
    with pytest.raises(ConfigError, match="not an http"):
        Routes.make("r:5010")


async def test_build_provider_makes_a_cortensor_provider_with_a_long_timeout() -> None:
    settings = ProviderSettings(
        kind="cortensor",
        base_url="http://127.0.0.1:9",
        api_key=SecretStr(KEY),
        session_id="7",
        api_version="v2",
    )
    built = build_provider("router", settings)
    assert isinstance(built, RetryingProvider)
    inner = built.inner
    assert isinstance(inner, CortensorProvider)
    assert inner.name == "router"
    assert inner.client.timeout == DEFAULT_TIMEOUT
    assert inner.client.routes.completions == "http://127.0.0.1:9/api/v2/completions/7"
    await built.aclose()
    explicit = build_provider("r", settings.model_copy(update={"timeout": 30.0}))
    assert isinstance(explicit.inner, CortensorProvider)
    assert explicit.inner.client.timeout == 30.0
    await explicit.aclose()


def test_settings_keep_cortensor_keys_to_cortensor() -> None:
    with pytest.raises(ValueError, match="only for kind 'cortensor'"):
        ProviderSettings(kind="openai", session_id="1")
    with pytest.raises(ValueError, match="kind 'cortensor' needs a base_url"):
        ProviderSettings(kind="cortensor")
