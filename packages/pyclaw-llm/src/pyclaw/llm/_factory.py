"""``build_provider``: a ready provider (concrete client + retries) from ``ProviderSettings``.

The SDK-backed providers are imported here, inside the function that needs them, so that
``import pyclaw.llm`` stays light and a missing extra is reported only when it is used.
"""
# ruff: noqa: PLC0415 - provider modules (and their SDKs) are imported only when built

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import cast

from pyclaw.llm._retry import RetryingProvider
from pyclaw.llm._settings import ProviderKind, ProviderSettings
from pyclaw.meta import LLMProvider, ProviderError

LocalBuilder = Callable[..., LLMProvider]

_MODULES: dict[ProviderKind, str] = {
    "openai": "pyclaw.llm.openai",
    "anthropic": "pyclaw.llm.anthropic",
    "local": "pyclaw.llm.local",
}


def _unavailable(name: str, kind: ProviderKind, exc: ModuleNotFoundError) -> ProviderError:
    """The error for a provider module that could not be imported: either pyclaw-llm lacks it, or
    (the usual case) the extra with its SDK is not installed."""
    missing = exc.name or ""
    own = _MODULES.get(kind, "")
    if own and (missing == own or own.startswith(missing + ".")):
        return ProviderError(
            f"provider {name!r}: kind {kind!r} is not available in this pyclaw-llm", provider=name
        )
    return ProviderError(
        f"provider {name!r} needs `pip install pyclaw-llm[{kind}]`",
        provider=name,
        hint=f"the module {missing!r} is missing",
    )


def _model(name: str, settings: ProviderSettings) -> str:
    if not settings.model:
        raise ProviderError(
            f"provider {name!r} ({settings.kind}) needs a model",
            provider=name,
            hint=f"set model in [providers.{name}] or in the agent",
        )
    return settings.model


def _compat(name: str, settings: ProviderSettings, base_url: str) -> LLMProvider:
    from pyclaw.llm._compat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(
        base_url,
        model=settings.model or "",  # then each request names its model
        api_key=settings.api_key_value(),
        name=name,
        timeout=settings.timeout,
        prices=settings.effective_prices() or None,
    )


def _local(
    name: str, settings: ProviderSettings, log_dir: str | os.PathLike[str] | None
) -> LLMProvider:
    """``pyclaw.llm.local`` builds it when present; without it, a ``local`` provider that names a
    ``base_url`` (an Ollama or llama.cpp server already running) is reached as OpenAI-compatible."""
    try:
        module = importlib.import_module(_MODULES["local"])
    except ModuleNotFoundError as exc:
        if settings.base_url and exc.name == _MODULES["local"]:
            return _compat(name, settings, settings.base_url)
        raise
    build = getattr(module, "build_local_provider", None)
    if not callable(build):
        raise ProviderError(
            f"provider {name!r}: kind 'local' is not available in this pyclaw-llm", provider=name
        )
    return cast("LocalBuilder", build)(name, settings, log_dir=log_dir)


def _concrete(
    name: str, settings: ProviderSettings, log_dir: str | os.PathLike[str] | None
) -> LLMProvider:
    kind = settings.kind
    try:
        if kind == "openai-compatible":
            return _compat(name, settings, settings.base_url or "")
        if kind == "openai":
            model = _model(name, settings)  # checked first: no SDK import for a config error
            from pyclaw.llm.openai import OpenAIProvider

            return OpenAIProvider(
                model=model,
                api_key=settings.api_key_value(),
                base_url=settings.base_url,
                name=name,
                timeout=settings.timeout,
                prices=settings.effective_prices() or None,
            )
        if kind == "anthropic":
            model = _model(name, settings)
            from pyclaw.llm.anthropic import AnthropicProvider

            return AnthropicProvider(
                model=model,
                api_key=settings.api_key_value(),
                base_url=settings.base_url,
                name=name,
                timeout=settings.timeout,
                prices=settings.effective_prices() or None,
            )
        if kind == "local":
            return _local(name, settings, log_dir)
    except ModuleNotFoundError as exc:
        raise _unavailable(name, kind, exc) from exc
    if kind == "cortensor":
        from pyclaw.llm.cortensor import cortensor_provider

        return cortensor_provider(name, settings)
    raise ProviderError(f"provider {name!r}: unknown kind {kind!r}", provider=name)


def build_provider(
    name: str, settings: ProviderSettings, *, log_dir: str | os.PathLike[str] | None = None
) -> RetryingProvider:
    """The provider named ``name`` for ``settings``: the concrete client for ``settings.kind``
    wrapped in a ``RetryingProvider`` with ``settings.retry``. Close it (``await p.aclose()`` or
    ``async with``) to close the client's connections.

    Raises ``ProviderError`` with one clear line when the kind cannot be built here: a missing
    extra ("provider 'x' needs `pip install pyclaw-llm[openai]`"), or a missing model. A
    ``cortensor`` provider is ``pyclaw.llm.cortensor.CortensorProvider``. ``log_dir`` is where a managed local model server writes
    its log (kind ``local``).
    """
    return RetryingProvider(_concrete(name, settings, log_dir), settings.retry)
