"""From ``[providers.<name>]`` to a ready ``LLMProvider``: secrets resolved, retries on.

``pyclaw.llm`` is imported inside the functions (it costs ~0.2 s), so commands that never reach
a model stay fast. With no provider configured, the config already holds ``local`` (the embedded
SmolLM2 model through a managed llama.cpp server): that is what ``chat`` and ``daemon`` use when
no API key is configured.
"""
# ruff: noqa: PLC0415 - pyclaw.llm is imported only when a provider is built

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pyclaw.meta import ConfigError
from pyclaw.runtime._config import ProviderConfig, PyClawConfig, SecretResolver

if TYPE_CHECKING:
    from pyclaw.llm import ProviderSettings, RetryingProvider
    from pyclaw.llm.cortensor import CortensorClient

KEY_ENV_BY_KIND: Mapping[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}
"""The SDKs' own variables, used when a provider names neither ``api_key`` nor ``api_key_env``."""


def provider_settings(
    name: str,
    provider: ProviderConfig,
    secrets: SecretResolver,
    *,
    environ: Mapping[str, str] | None = None,
) -> ProviderSettings:
    """The ``ProviderSettings`` for ``[providers.<name>]``, with its key resolved.

    ``api_key = "secret:<name>"`` goes through the secret store (keyring, then env, then the
    secrets file); ``api_key_env`` reads that variable; an ``openai``/``anthropic`` provider with
    neither falls back to ``OPENAI_API_KEY``/``ANTHROPIC_API_KEY`` and fails with one clear line
    when that is unset too.
    """
    from pydantic import SecretStr

    from pyclaw.llm import ModelPrice, ProviderSettings

    env = os.environ if environ is None else environ
    key = provider.resolve_api_key(secrets, env)
    fallback = KEY_ENV_BY_KIND.get(provider.kind)
    if key is None and fallback is not None:
        key = env.get(fallback) or None
        if key is None:
            raise ConfigError(
                f"provider {name!r} ({provider.kind}) has no API key",
                key=f"providers.{name}.api_key",
                hint=f'run `pyclaw secrets set {name}` and set api_key = "secret:{name}", '
                f"or export {fallback}",
            )
    prices = {
        model: ModelPrice(input=p.input, output=p.output, cached_input=p.cached_input)
        for model, p in provider.prices.items()
    }
    extra: dict[str, object] = {}
    if provider.timeout is not None:
        extra["timeout"] = provider.timeout
    if provider.session_id is not None:
        extra["session_id"] = provider.session_id
    if provider.api_version is not None:
        extra["api_version"] = provider.api_version
    return ProviderSettings.model_validate(
        {
            "kind": provider.kind,
            "base_url": provider.base_url,
            "api_key": None if key is None else SecretStr(key),
            "model": provider.model,
            "prices": prices,
            **extra,
        }
    )


def open_provider(
    config: PyClawConfig,
    name: str,
    secrets: SecretResolver,
    *,
    log_dir: str | None = None,
    environ: Mapping[str, str] | None = None,
    on_secret: Callable[[str, str], object] | None = None,
) -> RetryingProvider:
    """The provider ``name`` of ``config``, built (SDK imported) and wrapped in retries.

    ``on_secret(name, value)`` is told the resolved API key (the runtime registers it with the
    redactor, whichever way it was configured). Close the provider with ``await
    provider.aclose()``: that also stops a managed local model server.
    """
    from pyclaw.llm import build_provider

    provider = config.providers.get(name)
    if provider is None:
        known = ", ".join(config.providers)
        raise ConfigError(f"unknown provider {name!r}", expected=f"one of {known}")
    settings = provider_settings(name, provider, secrets, environ=environ)
    if on_secret is not None and settings.api_key is not None:
        on_secret(f"providers.{name}.api_key", settings.api_key.get_secret_value())
    return build_provider(name, settings, log_dir=log_dir)


def delegate_provider(config: PyClawConfig) -> str | None:
    """The provider the ``delegate`` tool uses: ``[tools.delegate] provider``, else the first
    provider of kind ``cortensor``; ``None`` when there is none. A named provider that does not
    exist or is not a Cortensor router is a ``ConfigError``."""
    named = config.tools.get("delegate", {}).get("provider")
    if named is None:
        return next((n for n, p in config.providers.items() if p.kind == "cortensor"), None)
    if not isinstance(named, str) or named not in config.providers:
        known = ", ".join(n for n, p in config.providers.items() if p.kind == "cortensor")
        raise ConfigError(
            f"unknown provider {named!r}",
            key="tools.delegate.provider",
            expected=f"a cortensor provider ({known or 'none configured'})",
        )
    if config.providers[named].kind != "cortensor":
        raise ConfigError(
            f"provider {named!r} is kind {config.providers[named].kind!r}",
            key="tools.delegate.provider",
            expected="a provider of kind 'cortensor'",
        )
    return named


def open_delegator(
    config: PyClawConfig,
    secrets: SecretResolver,
    *,
    environ: Mapping[str, str] | None = None,
    on_secret: Callable[[str, str], object] | None = None,
) -> CortensorClient | None:
    """The Cortensor router the ``delegate`` tool hands tasks to (see ``delegate_provider``),
    with its key resolved; ``None`` when no Cortensor provider is configured. Close it with
    ``await client.aclose()``."""
    name = delegate_provider(config)
    if name is None:
        return None
    from pyclaw.llm.cortensor import cortensor_client

    settings = provider_settings(name, config.providers[name], secrets, environ=environ)
    if on_secret is not None and settings.api_key is not None:
        on_secret(f"providers.{name}.api_key", settings.api_key.get_secret_value())
    return cortensor_client(name, settings)
