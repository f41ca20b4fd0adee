"""``[providers.<name>]`` from pyclaw.toml to a working provider: secrets, env keys, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyclaw.llm import ModelPrice, RetryingProvider
from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.meta import ConfigError, LLMRequest, Message, SecretNotFoundError, Usage
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._providers import open_provider, provider_settings
from pyclaw.secret import DefaultSecretStore

KEY = "sk-test-4f9a2c7e1b"


@pytest.fixture
def secrets(tmp_path: Path) -> DefaultSecretStore:
    return DefaultSecretStore(tmp_path, service="pyclaw-test-providers")


def test_default_config_is_the_local_embedded_model(secrets: DefaultSecretStore) -> None:
    config = parse_config("")
    assert config.providers["local"].kind == "local"
    provider = open_provider(config, "local", secrets)
    assert isinstance(provider, RetryingProvider)
    assert type(provider.inner).__name__ == "LocalProvider"  # not started until first call
    # the local model is free unless priced
    settings = provider_settings("local", config.providers["local"], secrets)
    assert settings.api_key is None


def test_secret_reference_resolves_through_the_secret_store(
    secrets: DefaultSecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCLAW_SECRET_OPENAI", KEY)
    config = parse_config(
        '[providers.openai]\nkind = "openai"\nmodel = "gpt-5-mini"\napi_key = "secret:openai"\n'
    )
    settings = provider_settings("openai", config.providers["openai"], secrets, environ={})
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == KEY
    assert KEY not in repr(settings)


def test_missing_secret_is_one_clear_error(secrets: DefaultSecretStore) -> None:
    config = parse_config(
        '[providers.openai]\nkind = "openai"\nmodel = "gpt-5-mini"\napi_key = "secret:nope"\n'
    )
    with pytest.raises(SecretNotFoundError, match="nope"):
        provider_settings("openai", config.providers["openai"], secrets, environ={})


def test_api_key_env_and_sdk_fallback_variables(secrets: DefaultSecretStore) -> None:
    config = parse_config(
        '[providers.a]\nkind = "anthropic"\nmodel = "claude-haiku-4-5"\napi_key_env = "MY_KEY"\n'
        '[providers.b]\nkind = "anthropic"\nmodel = "claude-haiku-4-5"\n'
    )
    a = provider_settings("a", config.providers["a"], secrets, environ={"MY_KEY": KEY})
    assert a.api_key is not None
    assert a.api_key.get_secret_value() == KEY
    b = provider_settings("b", config.providers["b"], secrets, environ={"ANTHROPIC_API_KEY": KEY})
    assert b.api_key is not None
    assert b.api_key.get_secret_value() == KEY
    with pytest.raises(ConfigError, match="no API key") as info:
        provider_settings("b", config.providers["b"], secrets, environ={})
    assert "ANTHROPIC_API_KEY" in str(info.value)
    with pytest.raises(ConfigError, match="MY_KEY"):
        provider_settings("a", config.providers["a"], secrets, environ={})


def test_unknown_provider_name(secrets: DefaultSecretStore) -> None:
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        open_provider(parse_config(""), "nope", secrets)


def test_timeout_and_price_overrides(secrets: DefaultSecretStore) -> None:
    config = parse_config(
        '[providers.gpt]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'timeout = "45s"\n[providers.gpt.prices.mine]\ninput = 1\noutput = 2.5\n'
    )
    settings = provider_settings("gpt", config.providers["gpt"], secrets)
    assert settings.timeout == 45.0
    assert settings.prices == {"mine": ModelPrice(input=1.0, output=2.5)}


def test_bad_provider_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"providers\.x\.timeout"):
        parse_config('[providers.x]\nkind = "local"\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match=r"providers\.x\.prices"):
        parse_config(
            '[providers.x]\nkind = "local"\n[providers.x.prices.m]\ninput = -1\noutput = 1\n'
        )


async def test_openai_compatible_provider_end_to_end_with_priced_model(
    secrets: DefaultSecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCLAW_SECRET_COMPAT", KEY)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    with FakeOpenAIServer([FakeReply(text="pong", usage=usage)], api_key=KEY) as server:
        config = parse_config(
            f'[providers.compat]\nkind = "openai-compatible"\nbase_url = "{server.base_url}"\n'
            'model = "mine"\napi_key = "secret:compat"\n'
            "[providers.compat.prices.mine]\ninput = 1\noutput = 2\n"
        )
        provider = open_provider(config, "compat", secrets)
        async with provider:
            response = await provider.complete(
                LLMRequest(model="", messages=(Message.user("ping"),))
            )
    assert response.message.text == "pong"
    assert response.cost_usd == pytest.approx(3.0)
    assert server.requests[0].body["model"] == "mine"
