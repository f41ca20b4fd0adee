"""The shared machinery of the providers that answer without a model."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator

from pyclaw.llm._replies import Reply, build_response
from pyclaw.llm._streaming import stream_events
from pyclaw.meta import LLMRequest, LLMResponse, StreamEvent


class FakeProvider(ABC):
    """An ``LLMProvider`` whose replies come from ``_next_reply`` instead of a model.

    Every request is recorded in ``requests`` (in call order) before it is answered. ``latency``
    seconds pass before each answer (before the first stream event). Cancelling a call, streamed or
    not, stops it at once; the reply it had drawn is spent.
    """

    def __init__(self, *, name: str, latency: float = 0.0) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, not {latency}")
        self._name = name
        self.latency = latency
        self.requests: list[LLMRequest] = []

    @property
    def name(self) -> str:
        return self._name

    @abstractmethod
    async def _next_reply(self, request: LLMRequest) -> Reply:
        """The reply for ``request`` (already recorded in ``requests``)."""

    async def _respond(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        reply = await self._next_reply(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        if isinstance(reply, Exception):
            raise reply
        latency_ms = self.latency * 1000 if self.latency else None
        return build_response(reply, request, provider=self._name, latency_ms=latency_ms)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        return await self._respond(request)

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """The same answer as ``complete`` would give, as stream events ending in ``ResponseDone``."""
        response = await self._respond(request)
        for event in stream_events(response):
            yield event
            await asyncio.sleep(0)  # a real stream yields to the loop between chunks
