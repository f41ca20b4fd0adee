"""Targets of the composing wrappers: a provider, or a provider with the model to ask it for."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Self, TypeAlias

from pyclaw.meta import LLMProvider, LLMRequest

Target: TypeAlias = LLMProvider | tuple[LLMProvider, str]
"""A provider (asked for the request's own model), or ``(provider, model)`` to ask it for ``model``
instead: a fallback from OpenAI to Anthropic must also change the model name."""


def split_target(target: Target) -> tuple[LLMProvider, str | None]:
    """``(provider, model or None)``."""
    if isinstance(target, tuple):
        provider, model = target
        return provider, model
    return target, None


def target_label(target: Target) -> str:
    """``name`` or ``name:model``, for messages and notices."""
    provider, model = split_target(target)
    return provider.name if model is None else f"{provider.name}:{model}"


def request_for(target: Target, request: LLMRequest) -> tuple[LLMProvider, LLMRequest]:
    """The provider and the request to send it (with its model substituted when it names one)."""
    provider, model = split_target(target)
    if model is None or model == request.model:
        return provider, request
    return provider, request.model_copy(update={"model": model})


async def aclose_provider(provider: object) -> None:
    """Close ``provider``'s connections when it has an ``aclose`` (the HTTP providers do)."""
    close = getattr(provider, "aclose", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result


class Wrapper:
    """Base of the wrapping providers: ``aclose`` (or ``async with``) closes what they wrap."""

    def wrapped(self) -> Sequence[LLMProvider]:
        """The providers this one calls."""
        raise NotImplementedError

    async def aclose(self) -> None:
        seen: set[int] = set()
        for provider in self.wrapped():
            if id(provider) not in seen:
                seen.add(id(provider))
                await aclose_provider(provider)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
