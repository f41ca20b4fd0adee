"""``OpenAIProvider``: Chat Completions (or the Responses API) through the official ``openai`` SDK."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import openai

from pyclaw.llm._chat_format import MaxTokensField, chat_request_body, parse_chat_completion
from pyclaw.llm._chat_stream import ChatStreamAssembler
from pyclaw.llm._http_errors import malformed_error, one_line
from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm._responses_format import (
    ResponsesStreamAssembler,
    parse_responses,
    responses_request_body,
)
from pyclaw.llm.openai._errors import provider_error
from pyclaw.meta import ConfigError, LLMRequest, LLMResponse, StreamEvent

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.responses import ResponseInputParam

CONNECT_TIMEOUT = 10.0
"""Seconds allowed to open a connection (capped by the provider's ``timeout``)."""

_SDK_ERRORS = (openai.OpenAIError, ValueError)


class OpenAIProvider:
    """An ``LLMProvider`` for OpenAI's Chat Completions API, on ``openai.AsyncOpenAI``.

    The request body comes from the same mapping as ``OpenAICompatibleProvider`` (``_chat_format``),
    so both give identical responses; the SDK brings OpenAI's own transport, auth and error types.
    SDK retries are off (``max_retries=0``): wrap the provider in ``RetryingProvider`` to retry.
    ``api_key`` defaults to ``OPENAI_API_KEY``; ``base_url`` to OpenAI's (or ``OPENAI_BASE_URL``).
    ``timeout`` bounds connecting (at most 10 s) and every wait for data. ``model`` is used when a
    request's ``model`` is empty; ``prices`` overrides the price table for ``cost_usd``.
    On OpenAI's own endpoint ``max_tokens`` is sent as ``max_completion_tokens`` (required by the
    reasoning models); other base URLs get ``max_tokens``.

    ``use_responses_api=True`` sends the same requests to the Responses API (``/responses``,
    ``store: false``) instead: text, images, function tools, tool results, ``max_output_tokens``,
    ``text.format`` for ``response_format``; there are no stop sequences there (``stop`` is not
    sent), and reasoning items and built-in tools are not mapped.
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        timeout: float = 120.0,
        name: str = "openai",
        prices: Mapping[str, ModelPrice] | None = None,
        use_responses_api: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {timeout}", key="timeout")
        try:
            self._client = openai.AsyncOpenAI(
                api_key=api_key,
                base_url=base_url,
                organization=organization,
                max_retries=0,
                timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            )
        except openai.OpenAIError:
            raise ConfigError(
                f"provider {name!r} has no API key",
                key="api_key",
                hint="set api_key (or api_key_env) for the provider, or OPENAI_API_KEY",
            ) from None
        self._name = name
        self.model = model
        self.timeout = timeout
        self.prices = prices
        self.use_responses_api = use_responses_api
        official = base_url is None or "api.openai.com" in str(self._client.base_url)
        self.max_tokens_field: MaxTokensField = (
            "max_completion_tokens" if official else "max_tokens"
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:
        return (
            f"OpenAIProvider(model={self.model!r}, base_url={self.base_url!r}, name={self._name!r})"
        )

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._client.api_key,)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One call; the raw JSON is parsed by the shared mapping (no SDK models built)."""
        model = request.model or self.model
        started = time.perf_counter()
        try:
            if self.use_responses_api:
                body = responses_request_body(request, model=model)
                raw = await self._client.responses.with_raw_response.create(
                    model=model, input=_input(body), extra_body=_rest(body)
                )
            else:
                body = chat_request_body(
                    request, model=model, max_tokens_field=self.max_tokens_field
                )
                raw = await self._client.chat.completions.with_raw_response.create(
                    model=model, messages=_messages(body), extra_body=_rest(body)
                )
            content, status = raw.content, raw.status_code
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        try:
            data = json.loads(content)
        except ValueError as exc:
            what = f"the response body is not valid JSON ({one_line(str(exc), 120)})"
            raise malformed_error(self._name, what, status=status) from None
        latency_ms = (time.perf_counter() - started) * 1000
        if self.use_responses_api:
            return parse_responses(
                data,
                provider=self._name,
                model=model,
                latency_ms=latency_ms,
                prices=self.prices,
                secrets=self._secrets(),
            )
        return parse_chat_completion(
            data, provider=self._name, model=model, latency_ms=latency_ms, prices=self.prices
        )

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """The SDK's event stream as ``StreamEvent``s, ending with ``ResponseDone``. A stream cut
        before the model finished raises a retryable ``ProviderError``."""
        model = request.model or self.model
        assembler: ChatStreamAssembler | ResponsesStreamAssembler
        started = time.perf_counter()
        try:
            if self.use_responses_api:
                body = responses_request_body(request, model=model, stream=True)
                assembler = ResponsesStreamAssembler(
                    provider=self._name, model=model, prices=self.prices, secrets=self._secrets()
                )
                chunks = await self._client.responses.create(
                    model=model, input=_input(body), stream=True, extra_body=_rest(body)
                )
            else:
                body = chat_request_body(
                    request, model=model, stream=True, max_tokens_field=self.max_tokens_field
                )
                assembler = ChatStreamAssembler(
                    provider=self._name, model=model, prices=self.prices, secrets=self._secrets()
                )
                chunks = await self._client.chat.completions.create(
                    model=model, messages=_messages(body), stream=True, extra_body=_rest(body)
                )
            async with chunks:
                async for chunk in chunks:
                    for event in assembler.feed(chunk.to_dict()):
                        yield event
        except _SDK_ERRORS as exc:
            raise self._error(exc) from exc
        for event in assembler.finish(latency_ms=(time.perf_counter() - started) * 1000):
            yield event

    def _error(self, exc: Exception) -> Exception:
        return provider_error(
            exc, provider=self._name, timeout=self.timeout, secrets=self._secrets()
        )

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        await self._client.close()

    async def __aenter__(self) -> OpenAIProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _rest(body: dict[str, Any]) -> dict[str, Any]:
    """Everything but the arguments passed by name, for ``extra_body`` (sent verbatim, merged
    into the JSON)."""
    return {k: v for k, v in body.items() if k not in ("model", "messages", "input", "stream")}


def _messages(body: dict[str, Any]) -> Iterable[ChatCompletionMessageParam]:
    return cast("Iterable[ChatCompletionMessageParam]", body["messages"])


def _input(body: dict[str, Any]) -> ResponseInputParam:
    return cast("ResponseInputParam", body["input"])
