"""Clients and providers from ``ProviderSettings`` (what ``build_provider`` and the runtime use)."""

from __future__ import annotations

from pyclaw.llm._settings import ProviderSettings
from pyclaw.llm.cortensor._client import DEFAULT_TIMEOUT, CortensorClient
from pyclaw.llm.cortensor._progress import WaitCallback
from pyclaw.llm.cortensor._provider import CortensorProvider
from pyclaw.meta import ConfigError


def cortensor_client(
    name: str, settings: ProviderSettings, *, on_wait: WaitCallback | None = None
) -> CortensorClient:
    """The ``CortensorClient`` for a ``cortensor`` provider's settings. Without an explicit
    ``timeout`` a call may take ``DEFAULT_TIMEOUT`` (300 s), not the 120 s of other providers."""
    if settings.kind != "cortensor":
        raise ConfigError(f"provider {name!r} is kind {settings.kind!r}, not 'cortensor'")
    if not settings.base_url:
        raise ConfigError("kind 'cortensor' needs a base_url", key=f"providers.{name}.base_url")
    explicit = "timeout" in settings.model_fields_set
    return CortensorClient(
        settings.base_url,
        api_key=settings.api_key_value(),
        name=name,
        session_id=settings.session_id,
        api_version=settings.api_version,
        timeout=settings.timeout if explicit else DEFAULT_TIMEOUT,
        on_wait=on_wait,
    )


def cortensor_provider(name: str, settings: ProviderSettings) -> CortensorProvider:
    """The ``CortensorProvider`` for a ``cortensor`` provider's settings."""
    return CortensorProvider(
        cortensor_client(name, settings),
        model=settings.model or "cortensor",
        prices=settings.effective_prices() or None,
    )
