"""``ProviderSettings``: everything needed to build one provider, already resolved.

The runtime reads ``[providers.<name>]`` from ``pyclaw.toml``, resolves the API key (keyring or
environment, via pyclaw-secret) and hands the result here; pyclaw-llm never reads config files or
secret stores itself.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from pyclaw.llm._pricing import WILDCARD, ModelPrice
from pyclaw.llm._retry import RetryPolicy

ProviderKind = Literal["openai", "anthropic", "openai-compatible", "local", "cortensor"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = (
    "openai",
    "anthropic",
    "openai-compatible",
    "local",
    "cortensor",
)


class ProviderSettings(BaseModel):
    """One provider's settings.

    ``api_key`` is the resolved secret, a ``SecretStr`` so it never shows in a repr, a log or a
    traceback. ``model`` is the model asked for when a request names none. ``timeout`` bounds each
    attempt (seconds; connecting gets at most 10 s of it); ``retry`` says how failed attempts are
    retried. ``prices`` overrides the built-in price table for this provider (USD per million
    tokens, by model name; ``"*"`` prices every model). A ``local`` provider is free unless its
    ``prices`` say otherwise; an ``openai-compatible`` one costs ``None`` (unknown) unless priced.
    ``session_id`` and ``api_version`` (``v1``, ``v2`` or ``v3``) belong to a ``cortensor`` router.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: ProviderKind
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    timeout: float = Field(default=120.0, gt=0)
    prices: dict[str, ModelPrice] = Field(default_factory=dict[str, ModelPrice])
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    session_id: str | None = None
    api_version: Literal["v1", "v2", "v3"] | None = None

    @model_validator(mode="after")
    def _base_url_when_needed(self) -> Self:
        if self.kind in ("openai-compatible", "cortensor") and not self.base_url:
            raise ValueError(f"kind {self.kind!r} needs a base_url")
        if self.kind != "cortensor" and (self.session_id or self.api_version):
            raise ValueError("session_id and api_version are only for kind 'cortensor'")
        return self

    def api_key_value(self) -> str | None:
        """The key in clear, for the client constructor only."""
        return None if self.api_key is None else self.api_key.get_secret_value()

    def effective_prices(self) -> dict[str, ModelPrice]:
        """``prices``, plus "every model is free" for a ``local`` provider not priced otherwise."""
        if self.kind == "local" and not self.prices:
            return {WILDCARD: ModelPrice.free()}
        return dict(self.prices)
