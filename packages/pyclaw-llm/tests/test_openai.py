"""``pyclaw.llm.openai.OpenAIProvider`` specifics (the shared scenarios are in
test_compat_providers.py): SDK settings, configuration errors, the SDK's own error types."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "openai", reason="the [openai] extra is not installed (the per-package isolation run)"
)

from pyclaw.llm.openai import OpenAIProvider
from pyclaw.llm.testing import FakeOpenAIServer, FakeReply, StatusFault
from pyclaw.meta import ConfigError, LLMRequest, Message, ProviderError

REQUEST = LLMRequest(model="gpt-4o", messages=(Message.user("hi"),), max_tokens=20)


def test_sdk_client_has_retries_off_and_the_timeout() -> None:
    provider = OpenAIProvider(model="gpt-4o", api_key="sk-x", timeout=7.0)
    client = provider._client  # pyright: ignore[reportPrivateUsage] - checking the SDK settings
    assert client.max_retries == 0
    timeout = client.timeout
    assert not isinstance(timeout, float | None)
    assert (timeout.read, timeout.connect) == (7.0, 7.0)
    assert provider.max_tokens_field == "max_completion_tokens"  # OpenAI's own endpoint
    assert "api.openai.com" in provider.base_url


def test_missing_api_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="no API key") as info:
        OpenAIProvider(model="gpt-4o")
    assert info.value.key == "api_key"


async def test_other_base_url_gets_max_tokens_and_sdk_headers() -> None:
    with FakeOpenAIServer() as server:
        async with OpenAIProvider(
            model="gpt-4o", api_key="sk-x", base_url=server.base_url
        ) as provider:
            assert provider.max_tokens_field == "max_tokens"
            await provider.complete(REQUEST)
        [recorded] = server.requests
        assert recorded.body["max_tokens"] == 20
        assert "max_completion_tokens" not in recorded.body
        assert recorded.headers["user-agent"].startswith("AsyncOpenAI/Python")
        assert recorded.headers["x-stainless-retry-count"] == "0"


async def test_empty_request_model_uses_the_providers_model() -> None:
    with FakeOpenAIServer([FakeReply(text="ok")]) as server:
        async with OpenAIProvider(model="gpt-4o-mini", api_key="k", base_url=server.base_url) as p:
            response = await p.complete(REQUEST.model_copy(update={"model": ""}))
        assert server.requests[0].body["model"] == "gpt-4o-mini"
        assert response.model == "gpt-4o-mini"


async def test_retry_after_ms_header_is_honoured() -> None:
    fault = StatusFault(429, headers={"retry-after-ms": "1500"})
    with FakeOpenAIServer([fault]) as server:
        async with OpenAIProvider(model="m", api_key="k", base_url=server.base_url) as provider:
            with pytest.raises(ProviderError) as info:
                await provider.complete(REQUEST)
    assert info.value.retry_after == 1.5
    assert info.value.retryable
