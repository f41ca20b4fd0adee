"""``CortensorProvider``: the ``LLMProvider`` for a Cortensor router's ``/completions``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from types import TracebackType
from typing import Any, Self

import httpx

from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm._sse import DONE, sse_data
from pyclaw.llm._streaming import stream_events
from pyclaw.llm.cortensor._client import CortensorClient
from pyclaw.llm.cortensor._completion import CompletionStream, completion_body, parse_completion
from pyclaw.llm.cortensor._template import CHAT_TEMPLATES, ChatTemplate, stop_markers
from pyclaw.llm.cortensor._wire import decode, unwrap
from pyclaw.meta import ConfigError, LLMRequest, LLMResponse, StreamEvent

DRAIN_SECONDS = 1.0


class CortensorProvider:
    """An ``LLMProvider`` answering from a Cortensor router (``client``).

    The conversation is rendered into one prompt with ``template`` (``chatml`` or ``plain``) and
    the answer cut at the template's end-of-turn marker. The router has no tool-call protocol:
    tools offered in a request are not passed on, and earlier tool calls and results are shown to
    the model as text. ``model`` only names the answer (miners choose the model); ``sampling``
    adds router keys such as ``top_p`` or ``top_k`` to every request. Errors are
    ``ProviderError``s (retryable for timeouts, dropped connections, 408/429/5xx and gateway
    failures that say so); retries are ``RetryingProvider``'s job.
    """

    def __init__(
        self,
        client: CortensorClient,
        *,
        model: str = "cortensor",
        template: ChatTemplate = "chatml",
        sampling: Mapping[str, Any] | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        if template not in CHAT_TEMPLATES:
            raise ConfigError(f"unknown chat template {template!r}", expected="chatml or plain")
        self.client = client
        self.model = model
        self.template: ChatTemplate = template
        self.sampling = dict(sampling or {})
        self.prices = prices

    @property
    def name(self) -> str:
        return self.client.name

    def __repr__(self) -> str:
        return f"CortensorProvider({self.client!r}, model={self.model!r})"

    def _body(self, request: LLMRequest, *, stream: bool) -> dict[str, Any]:
        return completion_body(
            request,
            template=self.template,
            timeout=self.client.timeout,
            stream=stream,
            defaults=self.sampling,
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One JSON round trip to ``/completions``."""
        url = self.client.routes.completions
        body = self._body(request, stream=False)
        data, latency_ms = await self.client.post_json(url, body, what="completion")
        return parse_completion(
            data,
            provider=self.name,
            model=request.model or self.model,
            markers=stop_markers(self.template, request.stop),
            latency_ms=latency_ms,
            prices=self.prices,
        )

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """Server-sent ``text_completion`` chunks as ``TextDelta``s, then ``ResponseDone``. A
        router that answers with one JSON body instead is turned into the same events."""
        model = request.model or self.model
        assembler = CompletionStream(
            provider=self.name,
            model=model,
            request=request,
            template=self.template,
            prices=self.prices,
        )
        started = time.perf_counter()
        events: list[StreamEvent] = []
        client = self.client
        with client.errors():
            async with client.stream(
                client.routes.completions, self._body(request, stream=True)
            ) as response:
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    async with client.waiting("completion"):
                        content = await response.aread()
                    data = unwrap(self.name, decode(self.name, content, status=200), status=200)
                    whole = parse_completion(
                        data,
                        provider=self.name,
                        model=model,
                        markers=stop_markers(self.template, request.stop),
                        latency_ms=(time.perf_counter() - started) * 1000,
                        prices=self.prices,
                    )
                    events = stream_events(whole)
                else:
                    async with aclosing(sse_data(response.aiter_lines())) as lines:
                        async for data in _first_waited(client, lines):
                            if data == DONE:
                                assembler.done = True
                                await _drain(lines)
                                break
                            for event in assembler.feed(decode(self.name, data, status=None)):
                                yield event
        if not events:
            events = assembler.finish(latency_ms=(time.perf_counter() - started) * 1000)
        for event in events:
            yield event

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _first_waited(
    client: CortensorClient, lines: AsyncIterator[str]
) -> AsyncGenerator[str, None]:
    """``lines``, with progress reports until the first one arrives (miners may be slow to start)."""
    async with client.waiting("stream"):
        first = await anext(lines, None)
    if first is None:
        return
    yield first
    async for line in lines:
        yield line


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body), briefly."""
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in lines:
                pass
