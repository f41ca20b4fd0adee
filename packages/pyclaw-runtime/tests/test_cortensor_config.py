"""A ``cortensor`` provider in pyclaw.toml: its settings reach the client, and the ``delegate``
tool finds its router (the first Cortensor provider, or ``[tools.delegate] provider``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyclaw.llm.cortensor import CortensorProvider
from pyclaw.meta import ConfigError
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._providers import (
    delegate_provider,
    open_delegator,
    open_provider,
    provider_settings,
)
from pyclaw.secret import DefaultSecretStore

ROUTER = (
    '[providers.router]\nkind = "cortensor"\nbase_url = "http://127.0.0.1:9"\n'
    'api_key_env = "CORTENSOR_KEY"\nsession_id = 12\napi_version = "v2"\ntimeout = "90s"\n'
)


@pytest.fixture
def secrets(tmp_path: Path) -> DefaultSecretStore:
    return DefaultSecretStore(tmp_path, service="pyclaw-test-cortensor")


async def test_cortensor_settings_reach_the_provider(secrets: DefaultSecretStore) -> None:
    config = parse_config(ROUTER)
    env = {"CORTENSOR_KEY": "k-123456"}
    settings = provider_settings("router", config.providers["router"], secrets, environ=env)
    assert (settings.session_id, settings.api_version, settings.timeout) == ("12", "v2", 90.0)
    provider = open_provider(config, "router", secrets, environ=env)
    inner = provider.inner
    assert isinstance(inner, CortensorProvider)
    assert inner.client.routes.completions == "http://127.0.0.1:9/api/v2/completions/12"
    assert inner.client.headers["Authorization"] == "Bearer k-123456"
    assert inner.client.timeout == 90.0
    await provider.aclose()


async def test_the_delegate_tool_finds_its_router(secrets: DefaultSecretStore) -> None:
    assert delegate_provider(parse_config("")) is None
    assert open_delegator(parse_config(""), secrets) is None
    two = ROUTER + ROUTER.replace("router", "backup")
    assert delegate_provider(parse_config(two)) == "router"
    chosen = parse_config(two + '[tools.delegate]\nprovider = "backup"\n')
    assert delegate_provider(chosen) == "backup"
    client = open_delegator(chosen, secrets, environ={"CORTENSOR_KEY": "k"})
    assert client is not None
    assert client.name == "backup"
    await client.aclose()
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        delegate_provider(parse_config(ROUTER + '[tools.delegate]\nprovider = "nope"\n'))
    local = parse_config(
        ROUTER + '[providers.local]\nkind = "local"\n[tools.delegate]\nprovider = "local"\n'
    )
    with pytest.raises(ConfigError, match="provider 'local' is kind 'local'"):
        delegate_provider(local)
