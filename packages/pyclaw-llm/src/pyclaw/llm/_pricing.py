"""What a call cost: a price table per model (USD per million tokens), overridable.

The built-in prices are the public list prices of OpenAI and Anthropic as the maintainers knew them
in November 2025 (``PRICES_AS_OF``; this machine cannot check them live). Prices change: override
them per provider in ``pyclaw.toml`` (``[providers.<name>.prices]``) or pass ``overrides``. A model
the table does not know costs ``None`` (unknown), never a guessed number; a local or self-hosted
model costs 0 only when configured so (an override, e.g. ``"*"`` for every model of a provider).

Usage convention: ``Usage.input_tokens`` counts every input token, including the
``cached_tokens`` that were read from the provider's prompt cache (billed at ``cached_input``).
Anthropic's cache-write surcharge is not modelled (``Usage`` does not carry those tokens).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from pyclaw.meta import Usage

PRICES_AS_OF = "2025-11"
"""When the built-in prices were taken (from the maintainers' knowledge of the price pages)."""

WILDCARD = "*"
"""An override key that prices every model of a provider (e.g. ``{"*": ModelPrice.free()}``)."""


class ModelPrice(BaseModel):
    """USD per million tokens. ``cached_input`` ``None`` means cached input gets no discount."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)

    @classmethod
    def free(cls) -> ModelPrice:
        """A model that costs nothing (a local one)."""
        return cls(input=0, output=0, cached_input=0)


def _p(input: float, output: float, cached_input: float | None = None) -> ModelPrice:
    return ModelPrice(input=input, output=output, cached_input=cached_input)


# fmt: off
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    # OpenAI (standard tier)
    "gpt-5.1": _p(1.25, 10.00, 0.125),
    "gpt-5": _p(1.25, 10.00, 0.125),
    "gpt-5-mini": _p(0.25, 2.00, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-5-pro": _p(15.00, 120.00),
    "gpt-5-codex": _p(1.25, 10.00, 0.125),
    "gpt-4.1": _p(2.00, 8.00, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.00, 1.25),
    "gpt-4o-2024-05-13": _p(5.00, 15.00),
    "chatgpt-4o-latest": _p(5.00, 15.00),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "gpt-4-turbo": _p(10.00, 30.00),
    "gpt-4": _p(30.00, 60.00),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o1": _p(15.00, 60.00, 7.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o1-pro": _p(150.00, 600.00),
    "o3": _p(2.00, 8.00, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o3-pro": _p(20.00, 80.00),
    "o4-mini": _p(1.10, 4.40, 0.275),
    # Anthropic (cache reads at 0.1x input; prompts up to 200k tokens)
    "claude-opus-4-5": _p(5.00, 25.00, 0.50),
    "claude-opus-4-1": _p(15.00, 75.00, 1.50),
    "claude-opus-4": _p(15.00, 75.00, 1.50),
    "claude-opus-4-0": _p(15.00, 75.00, 1.50),
    "claude-sonnet-4-5": _p(3.00, 15.00, 0.30),
    "claude-sonnet-4": _p(3.00, 15.00, 0.30),
    "claude-sonnet-4-0": _p(3.00, 15.00, 0.30),
    "claude-3-7-sonnet": _p(3.00, 15.00, 0.30),
    "claude-3-5-sonnet": _p(3.00, 15.00, 0.30),
    "claude-haiku-4-5": _p(1.00, 5.00, 0.10),
    "claude-3-5-haiku": _p(0.80, 4.00, 0.08),
    "claude-3-opus": _p(15.00, 75.00, 1.50),
    "claude-3-haiku": _p(0.25, 1.25, 0.03),
}
# fmt: on

_DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_VENDOR_PREFIXES = ("openai/", "anthropic/")


def _candidates(model: str) -> list[str]:
    """``model`` as given, then without a vendor prefix, then without a date or ``-latest``."""
    names = [model.strip().lower()]
    for prefix in _VENDOR_PREFIXES:
        if names[0].startswith(prefix):
            names.append(names[0].removeprefix(prefix))
    for name in list(names):
        undated = _DATED.sub("", name)
        if undated != name:
            names.append(undated)
    return names


def price_for(model: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model``: from ``overrides`` (by name, then ``"*"``), else the built-in table.

    Names match case-insensitively, with or without an ``openai/``/``anthropic/`` prefix and a date
    suffix (``claude-sonnet-4-5-20250929`` is priced as ``claude-sonnet-4-5``, ``gpt-4o-2024-08-06``
    as ``gpt-4o``) unless the dated name has its own entry. ``None`` when unknown.
    """
    names = _candidates(model)
    if overrides:
        lowered = {k.lower(): v for k, v in overrides.items()}
        for name in names:
            if name in lowered:
                return lowered[name]
        if WILDCARD in lowered:
            return lowered[WILDCARD]
    for name in names:
        price = DEFAULT_PRICES.get(name)
        if price is not None:
            return price
    return None


def cost_of(
    model: str, usage: Usage, overrides: Mapping[str, ModelPrice] | None = None
) -> float | None:
    """USD for ``usage`` on ``model``; ``None`` when the model's price is unknown."""
    price = price_for(model, overrides)
    if price is None:
        return None
    cached = min(usage.cached_tokens, usage.input_tokens)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    micro = (
        (usage.input_tokens - cached) * price.input
        + cached * cached_rate
        + usage.output_tokens * price.output
    )
    return round(micro / 1_000_000, 12)
