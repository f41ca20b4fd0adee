"""OpenAI's Responses API (``POST /responses``) wire format, as pure functions (no SDK, no I/O).

Same shape as ``_chat_format``: ``responses_request_body`` builds the JSON body,
``parse_responses`` reads a response object, ``ResponsesStreamAssembler`` turns stream events
into ``StreamEvent``s whose final ``ResponseDone`` is ``parse_responses`` of the completed response.
Only function tools and text are mapped: reasoning items, built-in tools and annotations are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyclaw.llm._chat_format import (
    JSON,
    as_list,
    as_object,
    build_response,
    image_url,
    raw_tool_call,
    tool_result_text,
)
from pyclaw.llm._http_errors import error_detail, malformed_error, one_line, redact
from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm._replies import arguments_text
from pyclaw.meta import (
    ImagePart,
    LLMRequest,
    LLMResponse,
    Message,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallReady,
    ToolResultPart,
    Usage,
)

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def responses_request_body(request: LLMRequest, *, model: str, stream: bool = False) -> JSON:
    """The JSON body for ``POST /responses`` (``store: false``: nothing is kept server-side).

    ``system`` → ``instructions``; ``max_tokens`` → ``max_output_tokens``; ``response_format`` →
    ``text.format``. The API has no stop sequences: ``request.stop`` is not sent.
    """
    body: JSON = {"model": model, "input": responses_input(request.messages), "store": False}
    if request.system:
        body["instructions"] = request.system
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in request.tools
        ]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.response_format is not None:
        body["text"] = {"format": _text_format(request.response_format)}
    if stream:
        body["stream"] = True
    return body


def _text_format(response_format: Mapping[str, Any]) -> JSON:
    kind = response_format.get("type")
    if kind == "json_schema":  # the Chat Completions shape: flatten it
        inner = as_object(response_format.get("json_schema")) or {}
        return {"type": "json_schema", **inner}
    if kind in ("json_object", "text"):
        return {"type": kind}
    title = response_format.get("title")
    name = title if isinstance(title, str) and title.isidentifier() else "response"
    return {"type": "json_schema", "name": name, "schema": dict(response_format)}


def responses_input(messages: Iterable[Message]) -> list[JSON]:
    """The ``input`` items: role messages, ``function_call`` and ``function_call_output`` items."""
    items: list[JSON] = []
    for message in messages:
        content: list[JSON] = []
        for part in message.parts:
            if isinstance(part, ToolResultPart):
                result = part.result
                output = {"call_id": result.call_id, "output": tool_result_text(result)}
                items.append({"type": "function_call_output", **output})
            elif isinstance(part, TextPart):
                kind = "output_text" if message.role == "assistant" else "input_text"
                content.append({"type": kind, "text": part.text})
            elif isinstance(part, ImagePart):
                content.append({"type": "input_image", "image_url": image_url(part)})
        if content:
            role = "user" if message.role == "tool" else message.role
            if all(c["type"] != "input_image" for c in content):
                items.append({"role": role, "content": "".join(c["text"] for c in content)})
            else:
                items.append({"role": role, "content": content})
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                call = part.call
                fields = {"call_id": call.id, "name": call.name, "arguments": arguments_text(call)}
                items.append({"type": "function_call", **fields})
    return items


def parse_responses(
    data: object,
    *,
    provider: str,
    model: str,
    latency_ms: float | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
    secrets: Iterable[str | None] = (),
) -> LLMResponse:
    """The ``LLMResponse`` for a response object; ``status: failed`` raises ``ProviderError``."""
    body = as_object(data)
    if body is None or body.get("object", "response") != "response":
        raise malformed_error(provider, "the response body is not a response object")
    if body.get("status") == "failed":
        raise _failure(provider, body.get("error"), secrets)
    texts: list[str] = []
    raw_calls: list[tuple[str | None, str, str]] = []
    for item in map(as_object, as_list(body.get("output"))):
        if item is None:
            continue
        if item.get("type") == "message":
            for part in map(as_object, as_list(item.get("content"))):
                if part is not None and part.get("type") in ("output_text", "refusal"):
                    texts.append(str(part.get("text") or part.get("refusal") or ""))
        elif item.get("type") == "function_call":
            _, name, arguments = raw_tool_call({"function": item})
            call_id = item.get("call_id") or item.get("id")
            raw_calls.append((call_id if isinstance(call_id, str) else None, name, arguments))
    incomplete = as_object(body.get("incomplete_details")) or {}
    finish = _INCOMPLETE.get(str(incomplete.get("reason")), "stop")
    response_model = body.get("model")
    return build_response(
        provider=provider,
        model=response_model if isinstance(response_model, str) and response_model else model,
        text="".join(texts),
        raw_calls=raw_calls,
        finish_reason=finish,
        usage=parse_responses_usage(body.get("usage")),
        response_id=body.get("id") if isinstance(body.get("id"), str) else None,
        latency_ms=latency_ms,
        prices=prices,
    )


def parse_responses_usage(usage: object) -> Usage:
    """``Usage`` from a Responses ``usage`` object (cached tokens are part of ``input_tokens``)."""
    data = as_object(usage) or {}
    details = as_object(data.get("input_tokens_details")) or {}

    def count(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    return Usage(
        input_tokens=count(data.get("input_tokens")),
        output_tokens=count(data.get("output_tokens")),
        cached_tokens=count(details.get("cached_tokens")),
    )


def _failure(provider: str, error: object, secrets: Iterable[str | None]) -> ProviderError:
    kind, message = error_detail(error if error is not None else "the response failed")
    label = f" ({kind})" if kind else ""
    return ProviderError(
        f"{provider}: the response failed{label}: {redact(one_line(message), secrets)}",
        retryable=kind is None or "invalid" not in kind,
        provider=provider,
    )


class ResponsesStreamAssembler:
    """Feeds on decoded Responses stream events; ``finish()`` gives the final events.

    ``response.output_text.delta`` → ``TextDelta``; a ``function_call`` output item → a
    ``ToolCallDelta`` with id (its ``call_id``) and name, then one per
    ``response.function_call_arguments.delta``; ``response.completed``/``incomplete`` ends the
    turn. ``error`` and ``response.failed`` events raise ``ProviderError``.
    """

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        prices: Mapping[str, ModelPrice] | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.provider = provider
        self.model = model
        self.prices = prices
        self._secrets = tuple(secrets)
        self._calls: dict[int, int] = {}  # output_index -> tool-call index
        self.final: Mapping[str, Any] | None = None

    def feed(self, event: object) -> list[StreamEvent]:
        """The events one stream event brings."""
        data = as_object(event)
        if data is None:
            raise malformed_error(self.provider, "a stream event is not a JSON object")
        kind = data.get("type")
        if kind == "response.output_text.delta":
            delta = data.get("delta")
            return [TextDelta(text=delta)] if isinstance(delta, str) and delta else []
        if kind == "response.output_item.added":
            item = as_object(data.get("item")) or {}
            if item.get("type") != "function_call":
                return []
            index = self._calls.setdefault(_int(data.get("output_index")), len(self._calls))
            _, name, arguments = raw_tool_call({"function": item})
            call_id = item.get("call_id")
            first = ToolCallDelta(
                index=index,
                id=call_id if isinstance(call_id, str) else None,
                name=name or None,
                arguments_delta=arguments,
            )
            return [first]
        if kind == "response.function_call_arguments.delta":
            index = self._calls.get(_int(data.get("output_index")))
            delta = data.get("delta")
            if index is None or not isinstance(delta, str):
                return []
            return [ToolCallDelta(index=index, arguments_delta=delta)]
        if kind in ("response.completed", "response.incomplete"):
            self.final = as_object(data.get("response")) or {}
        elif kind == "response.failed":
            response = as_object(data.get("response")) or {}
            raise _failure(self.provider, response.get("error"), self._secrets)
        elif kind == "error":
            error = {"code": data.get("code"), "message": data.get("message")}
            raise _failure(self.provider, error, self._secrets)
        return []

    def finish(self, *, latency_ms: float | None = None) -> list[StreamEvent]:
        """``ToolCallReady`` per call, then ``ResponseDone``; a stream that never completed raises
        a retryable ``ProviderError``."""
        if self.final is None:
            raise ProviderError(
                f"{self.provider}: the stream ended before the response was complete",
                retryable=True,
                provider=self.provider,
            )
        response = parse_responses(
            self.final,
            provider=self.provider,
            model=self.model,
            latency_ms=latency_ms,
            prices=self.prices,
            secrets=self._secrets,
        )
        events: list[StreamEvent] = [ToolCallReady(call=c) for c in response.message.tool_calls]
        events.append(ResponseDone(response=response))
        return events


def _int(value: object) -> int:
    return value if isinstance(value, int) else -1
