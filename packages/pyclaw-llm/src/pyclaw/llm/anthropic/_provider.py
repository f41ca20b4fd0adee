"""``AnthropicProvider``: the Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import anthropic
from anthropic.types import RawMessageStreamEvent

from pyclaw.llm._http_errors import malformed_error
from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm.anthropic._answer import AnswerBuilder
from pyclaw.llm.anthropic._errors import missing_key_error, provider_error, transport_error
from pyclaw.llm.anthropic._format import MessagesCall, build_call
from pyclaw.llm.anthropic._read import StreamReader, read_message
from pyclaw.meta import LLMRequest, LLMResponse, ProviderError, ResponseDone, StreamEvent

CONNECT_TIMEOUT = 10.0


class AnthropicProvider:
    """An ``LLMProvider`` for Anthropic's Messages API (``POST /v1/messages``), JSON and streaming.

    ``model`` is used when a request names none (``request.model`` empty). ``api_key=None`` lets the
    SDK find one (``ANTHROPIC_API_KEY``…). ``base_url`` is the API root without ``/v1`` (default
    ``https://api.anthropic.com``; a llama.cpp server's root works too). ``timeout`` bounds each
    wait for data (connecting: at most 10 s); ``max_tokens_default`` fills the API's required
    ``max_tokens`` when the request sets none. ``cost_usd`` comes from the built-in price table,
    with ``prices`` (USD per million tokens by model name) taking precedence. The SDK never
    retries (``max_retries=0``): wrap the provider in ``RetryingProvider`` for that. Failures
    raise ``ProviderError``.
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_tokens_default: int = 4096,
        name: str = "anthropic",
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout}")
        if max_tokens_default <= 0:
            raise ValueError(f"max_tokens_default must be > 0, not {max_tokens_default}")
        self._name = name
        self.model = model
        self.timeout = timeout
        self.max_tokens_default = max_tokens_default
        self.prices = dict(prices or {})
        self._api_key = api_key
        try:
            self._client = anthropic.AsyncAnthropic(
                api_key=api_key,
                base_url=base_url,
                timeout=anthropic.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
                max_retries=0,
            )
        except anthropic.CredentialsError as exc:  # a configured profile that cannot be loaded
            raise provider_error(exc, provider=name, timeout=timeout) from exc

    @property
    def name(self) -> str:
        return self._name

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:
        fields = f"name={self._name!r}, model={self.model!r}, base_url={self.base_url!r}"
        return f"AnthropicProvider({fields})"

    def build_call(self, request: LLMRequest) -> MessagesCall:
        """The Messages API call (body and reading aids) this provider makes for ``request``."""
        return build_call(
            request, model=request.model or self.model, default_max_tokens=self.max_tokens_default
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        call = self.build_call(request)
        started = time.perf_counter()
        try:
            message = await self._client.messages.create(**_params(call), stream=False)
        except anthropic.AnthropicError as exc:
            raise self._error(exc) from exc
        except TypeError as exc:
            if (error := missing_key_error(exc, provider=self._name)) is None:
                raise
            raise error from exc
        except json.JSONDecodeError as exc:  # a 200 whose body is not JSON
            raise malformed_error(self._name, "the response body was not valid JSON") from exc
        answer = self._answer(call)
        read_message(message, answer)
        return answer.response((time.perf_counter() - started) * 1000)

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """The answer as it is generated: ``TextDelta``s, ``ToolCallDelta``s then a
        ``ToolCallReady`` per call, and ``ResponseDone`` with what ``complete`` would return.
        Closing or cancelling the iteration closes the HTTP response."""
        call = self.build_call(request)
        started = time.perf_counter()
        try:
            events = await self._client.messages.create(**_params(call), stream=True)
        except anthropic.AnthropicError as exc:
            raise self._error(exc) from exc
        except TypeError as exc:
            if (error := missing_key_error(exc, provider=self._name)) is None:
                raise
            raise error from exc
        answer = self._answer(call)
        reader = StreamReader(answer)
        try:
            while not reader.done:
                try:
                    event: RawMessageStreamEvent = await anext(events)
                except StopAsyncIteration:
                    break
                except Exception as exc:  # the SDK lets transport errors through mid-stream
                    raise self._transport_error(exc) from exc
                for out in reader.feed(event):
                    yield out
        finally:
            await events.close()
        if not reader.done:
            raise malformed_error(self._name, "the stream ended before message_stop")
        yield ResponseDone(response=answer.response((time.perf_counter() - started) * 1000))

    async def aclose(self) -> None:
        """Close the SDK's HTTP client (its pooled connections)."""
        await self._client.close()

    async def __aenter__(self) -> AnthropicProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _answer(self, call: MessagesCall) -> AnswerBuilder:
        return AnswerBuilder(call, provider=self._name, model=_model(call), prices=self.prices)

    def _error(self, exc: anthropic.AnthropicError) -> ProviderError:
        return provider_error(
            exc, provider=self._name, timeout=self.timeout, secrets=(self._api_key,)
        )

    def _transport_error(self, exc: Exception) -> ProviderError:
        return transport_error(
            exc, provider=self._name, timeout=self.timeout, secrets=(self._api_key,)
        )


def _model(call: MessagesCall) -> str:
    model = call.body["model"]
    assert isinstance(model, str)
    return model


def _params(call: MessagesCall) -> dict[str, Any]:
    """The body as keyword arguments of ``messages.create`` (the SDK sends them as given)."""
    return call.body
