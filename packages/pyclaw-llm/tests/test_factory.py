"""ProviderSettings and build_provider; retries, fallback and recording end to end on fake servers."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from pyclaw.llm import (
    FallbackProvider,
    Jitter,
    ModelPrice,
    ProviderSettings,
    RecordingProvider,
    RetryingProvider,
    RetryPolicy,
    build_provider,
)
from pyclaw.llm._compat import OpenAICompatibleProvider
from pyclaw.llm.testing import DropFault, FakeOpenAIServer, StatusFault
from pyclaw.meta import (
    EventPayload,
    LLMProvider,
    LLMRequest,
    LLMResponseEvent,
    Message,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    Usage,
)

KEY = "sk-test-SECRET-value-123"
REQUEST = LLMRequest(model="", messages=(Message.user("hello there"),))
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=0.05)


def compat_settings(base_url: str = "http://127.0.0.1:9/v1", **extra: object) -> ProviderSettings:
    return ProviderSettings.model_validate(
        {"kind": "openai-compatible", "base_url": base_url, "model": "smol", **extra}
    )


def test_settings_never_show_the_key() -> None:
    settings = compat_settings(api_key=KEY)
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY not in text
    assert settings.api_key_value() == KEY


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="needs a base_url"):
        ProviderSettings(kind="openai-compatible")
    with pytest.raises(ValidationError):
        ProviderSettings(kind="gemini")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValidationError):
        ProviderSettings(kind="openai", timeout=0)
    with pytest.raises(ValidationError):
        ProviderSettings.model_validate({"kind": "openai", "api_key_env": "X"})
    parsed = ProviderSettings.model_validate(
        {
            "kind": "openai",
            "model": "gpt-4o",
            "prices": {"gpt-4o": {"input": 1, "output": 2}},
            "retry": {"max_attempts": 2, "jitter": "none"},
        }
    )
    assert parsed.prices["gpt-4o"] == ModelPrice(input=1, output=2)
    assert parsed.retry == RetryPolicy(max_attempts=2, jitter=Jitter.NONE)


def test_local_is_free_unless_priced_and_compat_is_unknown_unless_priced() -> None:
    assert ProviderSettings(kind="local").effective_prices() == {"*": ModelPrice.free()}
    priced = ProviderSettings(kind="local", prices={"*": ModelPrice(input=1, output=1)})
    assert priced.effective_prices() == {"*": ModelPrice(input=1, output=1)}
    assert compat_settings().effective_prices() == {}


def test_builds_an_openai_compatible_provider_wrapped_in_retries() -> None:
    settings = compat_settings(api_key=KEY, timeout=5, retry={"max_attempts": 2})
    provider = build_provider("llama", settings)
    assert isinstance(provider, RetryingProvider)
    assert isinstance(provider, LLMProvider)
    assert provider.name == "llama"
    assert provider.policy.max_attempts == 2
    inner = provider.inner
    assert isinstance(inner, OpenAICompatibleProvider)
    assert (inner.base_url, inner.model, inner.timeout) == ("http://127.0.0.1:9/v1", "smol", 5)


def test_cortensor_is_built() -> None:
    from pyclaw.llm.cortensor import CortensorProvider  # noqa: PLC0415

    built = build_provider("c", ProviderSettings(kind="cortensor", base_url="http://127.0.0.1:1"))
    assert isinstance(built.inner, CortensorProvider)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_sdk_kinds_need_a_model(kind: str) -> None:
    with pytest.raises(ProviderError, match=f"provider 'p' \\({kind}\\) needs a model"):
        build_provider("p", ProviderSettings.model_validate({"kind": kind}))


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_missing_extra_says_what_to_install(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, kind, None)  # as if the SDK were not installed
    for loaded in [m for m in sys.modules if m.startswith(f"pyclaw.llm.{kind}")]:
        monkeypatch.delitem(sys.modules, loaded)  # so that the provider module is imported anew
    settings = ProviderSettings.model_validate({"kind": kind, "model": "m", "api_key": KEY})
    with pytest.raises(ProviderError) as caught:
        build_provider("main", settings)
    assert caught.value.message == f"provider 'main' needs `pip install pyclaw-llm[{kind}]`"
    assert KEY not in str(caught.value)


def test_sdk_providers_are_built_when_their_sdk_is_installed() -> None:
    pytest.importorskip(
        "openai", reason="the [openai] extra is not installed (the per-package isolation run)"
    )
    pytest.importorskip(
        "anthropic", reason="the [anthropic] extra is not installed (the per-package isolation run)"
    )
    openai_provider = build_provider(
        "gpt", ProviderSettings(kind="openai", model="gpt-4o", api_key=KEY)
    )
    anthropic_provider = build_provider(
        "claude", ProviderSettings(kind="anthropic", model="claude-haiku-4-5", api_key=KEY)
    )
    assert isinstance(openai_provider, RetryingProvider)
    assert type(openai_provider.inner).__name__ == "OpenAIProvider"
    assert isinstance(anthropic_provider, RetryingProvider)
    assert type(anthropic_provider.inner).__name__ == "AnthropicProvider"
    assert (openai_provider.name, anthropic_provider.name) == ("gpt", "claude")


def test_local_delegates_to_pyclaw_llm_local(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[str, ProviderSettings, object]] = []
    sentinel = OpenAICompatibleProvider("http://127.0.0.1:9/v1", model="x", name="home")
    module = types.ModuleType("pyclaw.llm.local")

    def build_local_provider(
        name: str, settings: ProviderSettings, *, log_dir: object = None
    ) -> LLMProvider:
        built.append((name, settings, log_dir))
        return sentinel

    module.build_local_provider = build_local_provider  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyclaw.llm.local", module)
    settings = ProviderSettings(kind="local")
    provider = build_provider("home", settings, log_dir="/var/log/pyclaw")
    assert isinstance(provider, RetryingProvider)
    assert provider.inner is sentinel
    assert built == [("home", settings, "/var/log/pyclaw")]


def test_local_without_the_local_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyclaw.llm.local", None)
    with pytest.raises(ProviderError, match="kind 'local' is not available"):
        build_provider("home", ProviderSettings(kind="local"))
    # a running server named by base_url is reached as OpenAI-compatible, free of charge
    provider = build_provider(
        "home", ProviderSettings(kind="local", base_url="http://127.0.0.1:11434/v1")
    )
    assert isinstance(provider, RetryingProvider)
    inner = provider.inner
    assert isinstance(inner, OpenAICompatibleProvider)
    assert inner.prices == {"*": ModelPrice.free()}


# --- end to end on a fake OpenAI server -------------------------------------------------------


async def drain(events: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    async for event in events:
        into.append(event)


class MemoryLog:
    def __init__(self) -> None:
        self.payloads: list[EventPayload] = []

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> object:
        self.payloads.append(payload)
        return payload


async def test_retry_after_a_429_on_a_real_wire_then_answer() -> None:
    with FakeOpenAIServer([StatusFault(429, retry_after=0.04), "Hi from the fake."]) as server:
        provider = build_provider("fake", compat_settings(server.base_url, retry=FAST_RETRY))
        log = MemoryLog()
        started = time.perf_counter()
        async with RecordingProvider(provider, log, "s") as recording:
            response = await recording.complete(REQUEST)
        elapsed = time.perf_counter() - started
    assert response.message.text == "Hi from the fake."
    assert response.provider == "fake"
    assert len(server.requests) == 2
    assert elapsed >= 0.04  # the Retry-After wait was honoured
    kinds = [p.kind for p in log.payloads]
    assert kinds == ["llm_request", "custom", "llm_response"]
    assert log.payloads[1].data["text"] == "retrying in 0.04 s (429)"  # pyright: ignore[reportAttributeAccessIssue]


async def test_non_retryable_4xx_on_a_real_wire_is_not_retried() -> None:
    with FakeOpenAIServer([StatusFault(400, "context too long"), "never"]) as server:
        provider = build_provider("fake", compat_settings(server.base_url, retry=FAST_RETRY))
        with pytest.raises(ProviderError) as caught:
            async with provider:
                await provider.complete(REQUEST)
    assert caught.value.status == 400
    assert not caught.value.retryable
    assert len(server.requests) == 1


async def test_a_stream_dropped_mid_way_is_not_retried() -> None:
    with FakeOpenAIServer([DropFault(after_events=2), "never"]) as server:
        received: list[StreamEvent] = []
        async with build_provider(
            "fake", compat_settings(server.base_url, retry=FAST_RETRY)
        ) as provider:
            with pytest.raises(ProviderError):
                await drain(provider.stream(REQUEST), received)
    assert any(isinstance(e, TextDelta) for e in received)
    # the caller had seen text, so a retry would have duplicated it
    assert len(server.requests) == 1


async def test_fallback_between_two_fake_servers_with_a_local_price() -> None:
    with (
        FakeOpenAIServer([StatusFault(503)] * 3) as down,
        FakeOpenAIServer(["Answer from the second."]) as up,
    ):
        first = build_provider("first", compat_settings(down.base_url, retry=FAST_RETRY))
        second = build_provider(
            "second",
            compat_settings(up.base_url, prices={"*": {"input": 1, "output": 2}}),
        )
        async with FallbackProvider([first, second]) as chain:
            events = [e async for e in chain.stream(REQUEST)]
    done = events[-1]
    assert isinstance(done, ResponseDone)
    response = done.response
    assert (response.provider, response.message.text) == ("second", "Answer from the second.")
    assert len(down.requests) == 3
    usage: Usage = response.usage
    assert usage.input_tokens > 0
    assert response.cost_usd == pytest.approx(
        (usage.input_tokens * 1 + usage.output_tokens * 2) / 1_000_000
    )


async def test_recorded_response_matches_the_returned_one_on_the_wire() -> None:
    with FakeOpenAIServer(["Recorded."]) as server:
        log = MemoryLog()
        async with RecordingProvider(
            build_provider("fake", compat_settings(server.base_url)), log, "s"
        ) as provider:
            response = await provider.complete(REQUEST)
    recorded = log.payloads[-1]
    assert isinstance(recorded, LLMResponseEvent)
    assert recorded.response == response
