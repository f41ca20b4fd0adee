"""``OpenAICompatibleProvider``: any Chat Completions endpoint over plain httpx (no SDK).

For llama.cpp's server, Ollama, vLLM, LM Studio, OpenRouter and the like (and OpenAI itself):
one ``POST {base_url}/chat/completions``, JSON or server-sent events, mapped by ``_chat_format``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from types import TracebackType
from typing import Any, Self

import httpx

from pyclaw.llm._chat_format import chat_request_body, parse_chat_completion
from pyclaw.llm._chat_stream import ChatStreamAssembler
from pyclaw.llm._http_errors import (
    connection_error,
    malformed_error,
    one_line,
    status_error,
    timeout_error,
)
from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm._sse import DONE, sse_data
from pyclaw.llm._streaming import stream_events
from pyclaw.meta import ConfigError, LLMRequest, LLMResponse, ProviderError, StreamEvent

CONNECT_TIMEOUT = 10.0
"""Seconds allowed to open a connection (capped by the provider's ``timeout``)."""

DRAIN_SECONDS = 1.0
"""How long to wait for the end of the body after ``data: [DONE]`` (lets the connection be reused)."""


class OpenAICompatibleProvider:
    """An ``LLMProvider`` for any server speaking OpenAI's Chat Completions API.

    ``base_url`` is the API root (``http://127.0.0.1:8080/v1``); requests go to
    ``{base_url}/chat/completions``. ``model`` is used when a request's ``model`` is empty.
    ``api_key`` (optional for local servers) is sent as a bearer token and never appears in an
    error. ``timeout`` bounds connecting (at most 10 s) and every wait for data, so a server that
    goes silent fails the call within ``timeout`` seconds. Every failure is a ``ProviderError``
    saying whether a retry may help; retries themselves are ``RetryingProvider``'s job.
    ``http_client`` lets several providers share one ``httpx.AsyncClient`` (then the caller
    closes it); ``prices`` overrides the price table for ``cost_usd``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        name: str = "openai-compatible",
        timeout: float = 120.0,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{base_url!r} is not an http(s) URL", key="base_url", expected="http(s)://host/v1"
            )
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {timeout}", key="timeout")
        self._name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.prices = prices
        self._url = f"{self.base_url}/chat/completions"
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._secrets = (api_key,)
        self._timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self._timeout)

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider({self.base_url!r}, model={self.model!r}, name={self._name!r})"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One JSON round trip."""
        model = request.model or self.model
        content = _encode(chat_request_body(request, model=model))
        started = time.perf_counter()
        try:
            response = await self._client.post(
                self._url, content=content, headers=self._headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise timeout_error(self._name, self.timeout) from exc
        except httpx.RequestError as exc:
            raise connection_error(self._name, exc, secrets=self._secrets) from exc
        if not response.is_success:
            raise self._status_error(response)
        data = self._decode(response.content, response.status_code)
        latency_ms = (time.perf_counter() - started) * 1000
        return parse_chat_completion(
            data, provider=self._name, model=model, latency_ms=latency_ms, prices=self.prices
        )

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """Server-sent events as ``StreamEvent``s, ending with ``ResponseDone``. A stream cut before
        the model finished raises a retryable ``ProviderError`` (never a half answer)."""
        model = request.model or self.model
        content = _encode(chat_request_body(request, model=model, stream=True))
        assembler = ChatStreamAssembler(
            provider=self._name, model=model, prices=self.prices, secrets=self._secrets
        )
        started = time.perf_counter()
        try:
            async with self._client.stream(
                "POST", self._url, content=content, headers=self._headers, timeout=self._timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._status_error(response)
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    # a server that ignored "stream": true and answered with one JSON body
                    data = self._decode(await response.aread(), response.status_code)
                    whole = parse_chat_completion(
                        data,
                        provider=self._name,
                        model=model,
                        latency_ms=(time.perf_counter() - started) * 1000,
                        prices=self.prices,
                    )
                    assembler = None
                    events = stream_events(whole)
                else:
                    events = []
                    async with aclosing(sse_data(response.aiter_lines())) as lines:
                        async for data in lines:
                            if data == DONE:
                                assembler.done = True
                                await _drain(lines)
                                break
                            for event in assembler.feed(self._decode(data, None)):
                                yield event
        except httpx.TimeoutException as exc:
            raise timeout_error(self._name, self.timeout) from exc
        except httpx.RequestError as exc:
            raise connection_error(self._name, exc, secrets=self._secrets) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        if assembler is not None:
            events = assembler.finish(latency_ms=latency_ms)
        for event in events:
            yield event

    def _status_error(self, response: httpx.Response) -> ProviderError:
        return status_error(
            self._name,
            response.status_code,
            response.headers,
            response.content,
            secrets=self._secrets,
        )

    def _decode(self, content: bytes | str, status: int | None) -> Any:
        try:
            return json.loads(content)
        except ValueError as exc:
            what = "the response body" if status is not None else "a stream event"
            raise malformed_error(
                self._name, f"{what} is not valid JSON ({one_line(str(exc), 120)})", status=status
            ) from None

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in: then its owner closes it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body), briefly."""
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in lines:
                pass
