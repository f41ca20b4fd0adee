"""The OpenAI Chat Completions wire format, as pure functions (no SDK, no I/O).

``chat_request_body`` turns an ``LLMRequest`` into the JSON body of ``POST /chat/completions``;
``parse_chat_completion`` turns the response JSON into an ``LLMResponse``; ``ChatStreamAssembler``
(in ``_chat_stream``) turns streamed chunks into ``StreamEvent``s ending with the same
``LLMResponse``. Both transports (httpx and the official SDK) use these, so they agree exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from pyclaw.llm._http_errors import malformed_error
from pyclaw.llm._pricing import ModelPrice, cost_of
from pyclaw.llm._replies import arguments_text
from pyclaw.llm._toolargs import tool_call_from_text
from pyclaw.meta import (
    ErrorInfo,
    ImagePart,
    LLMRequest,
    LLMResponse,
    Message,
    Part,
    ProviderError,
    StopReason,
    TextPart,
    ToolCall,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
    ToolSpec,
    Usage,
    canonical_json,
    new_id,
)

JSON = dict[str, Any]
MaxTokensField = Literal["max_tokens", "max_completion_tokens"]

FINISH_REASONS: Mapping[str, StopReason] = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}
"""Chat Completions ``finish_reason`` → ``StopReason`` (anything else is ``END_TURN``)."""

_RESPONSE_FORMAT_TYPES = frozenset({"json_schema", "json_object", "text"})
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]+")


# --- request ---------------------------------------------------------------------------------


def chat_request_body(
    request: LLMRequest,
    *,
    model: str | None = None,
    stream: bool = False,
    max_tokens_field: MaxTokensField = "max_tokens",
) -> JSON:
    """The JSON body for ``POST /chat/completions`` (``model`` overrides ``request.model``).

    Streaming bodies ask for usage in the last chunk (``stream_options.include_usage``). The
    official OpenAI endpoint wants ``max_completion_tokens``; most compatible servers read
    ``max_tokens``.
    """
    body: JSON = {"model": model or request.model, "messages": chat_messages(request)}
    if request.tools:
        body["tools"] = [tool_param(spec) for spec in request.tools]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.response_format is not None:
        body["response_format"] = response_format_param(request.response_format)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def tool_param(spec: ToolSpec) -> JSON:
    """A tool definition: ``{"type": "function", "function": {name, description, parameters}}``."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        },
    }


def response_format_param(response_format: Mapping[str, Any]) -> JSON:
    """``response_format`` as the API wants it. Given in the API's own shape (``type`` is
    ``json_schema``, ``json_object`` or ``text``) it is passed through; anything else is taken as
    a JSON Schema and wrapped as ``{"type": "json_schema", "json_schema": {name, schema}}``."""
    if response_format.get("type") in _RESPONSE_FORMAT_TYPES:
        return dict(response_format)
    title = response_format.get("title")
    name = _SCHEMA_NAME.sub("_", title)[:64] if isinstance(title, str) and title else "response"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(response_format)}}


def chat_messages(request: LLMRequest) -> list[JSON]:
    """The ``messages`` array: the system prompt first, then each message; every tool result
    becomes its own ``{"role": "tool", "tool_call_id", "content"}`` message."""
    messages: list[JSON] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        messages.extend(_wire_messages(message))
    return messages


def _wire_messages(message: Message) -> list[JSON]:
    results = [p.result for p in message.parts if isinstance(p, ToolResultPart)]
    wire: list[JSON] = [
        {"role": "tool", "tool_call_id": r.call_id, "content": tool_result_text(r)} for r in results
    ]
    rest = [p for p in message.parts if not isinstance(p, ToolResultPart)]
    if results and not rest:
        return wire
    item: JSON = {"role": message.role}
    if message.role == "assistant":
        calls = [p.call for p in rest if isinstance(p, ToolCallPart)]
        text = "".join(p.text for p in rest if isinstance(p, TextPart))
        item["content"] = text if text or not calls else None
        if calls:
            item["tool_calls"] = [_tool_call_param(c) for c in calls]
    else:
        item["content"] = _content(rest)
    if message.name:
        item["name"] = message.name
    wire.append(item)
    return wire


def _content(parts: Sequence[Part]) -> str | list[JSON]:
    """Plain text when there is only text, else a list of ``text`` and ``image_url`` parts."""
    if not any(isinstance(p, ImagePart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    content: list[JSON] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            content.append({"type": "image_url", "image_url": {"url": image_url(part)}})
    return content


def image_url(part: ImagePart) -> str:
    """The URL of an image: a ``data:`` URL for base64 content, else its ``url``."""
    if part.data_base64 is not None:
        return f"data:{part.media_type};base64,{part.data_base64}"
    if part.url is not None:
        return part.url
    where = f" (artifact {part.artifact.uri})" if part.artifact else ""
    raise ProviderError(
        f"an image part has neither data_base64 nor url{where}",
        hint="load the artifact's bytes into data_base64 before sending the request",
    )


def _tool_call_param(call: ToolCall) -> JSON:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments_text(call)},
    }


def tool_result_text(result: ToolResult) -> str:
    """What the model reads for a tool result: its content, else its error, else its status."""
    if result.content:
        return result.content
    if result.error is not None:
        return f"{result.status}: {result.error.message}"
    return result.status


# --- response --------------------------------------------------------------------------------


def parse_usage(usage: object) -> Usage:
    """``Usage`` from a ``usage`` object: prompt, completion and cached prompt tokens (the cached
    ones are part of ``input_tokens``, as OpenAI counts them)."""
    data = as_object(usage)
    if data is None:
        return Usage()
    details = as_object(data.get("prompt_tokens_details"))
    cached = details.get("cached_tokens") if details is not None else None
    return Usage(
        input_tokens=_count(data.get("prompt_tokens")),
        output_tokens=_count(data.get("completion_tokens")),
        cached_tokens=_count(cached),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def stop_reason(finish_reason: object, *, has_tool_calls: bool) -> StopReason:
    """The ``StopReason`` for a ``finish_reason``; ``tool_use`` whenever the model called tools
    and simply stopped (several compatible servers say ``stop`` there)."""
    reason = StopReason.END_TURN
    if isinstance(finish_reason, str):
        reason = FINISH_REASONS.get(finish_reason, StopReason.END_TURN)
    if has_tool_calls and reason is StopReason.END_TURN:
        return StopReason.TOOL_USE
    return reason


def build_response(
    *,
    provider: str,
    model: str,
    text: str,
    raw_calls: Sequence[tuple[str | None, str, str]],
    finish_reason: object,
    usage: Usage,
    response_id: str | None,
    latency_ms: float | None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> LLMResponse:
    """The ``LLMResponse`` for a finished turn; ``raw_calls`` are ``(id, name, arguments text)``.
    Malformed arguments become ``ToolCall.raw_arguments`` plus an entry in ``tool_call_errors``;
    ``cost_usd`` comes from the price table (``prices`` overrides it), ``None`` if unknown."""
    calls: list[ToolCall] = []
    errors: list[ErrorInfo] = []
    for call_id, name, arguments in raw_calls:
        call, error = tool_call_from_text(call_id or new_id("call"), name, arguments)
        calls.append(call)
        if error is not None:
            errors.append(error)
    return LLMResponse(
        model=model,
        provider=provider,
        message=Message.assistant(text, tuple(calls)),
        stop_reason=stop_reason(finish_reason, has_tool_calls=bool(calls)),
        usage=usage,
        cost_usd=cost_of(model, usage, prices),
        latency_ms=latency_ms,
        response_id=response_id,
        tool_call_errors=tuple(errors),
    )


def parse_chat_completion(
    data: object,
    *,
    provider: str,
    model: str,
    latency_ms: float | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> LLMResponse:
    """The ``LLMResponse`` for a Chat Completions response body (decoded JSON); ``model`` is used
    when the body names none. A body without a choice raises a retryable ``ProviderError``."""
    body = as_object(data)
    if body is None:
        raise malformed_error(provider, "the response body is not a JSON object")
    choices = as_list(body.get("choices"))
    choice = as_object(choices[0]) if choices else None
    if choice is None:
        raise malformed_error(provider, "the response has no choices")
    msg = as_object(choice.get("message"))
    if msg is None:
        raise malformed_error(provider, "the response's choice has no message")
    raw_calls = [
        raw_tool_call(item)
        for item in map(as_object, as_list(msg.get("tool_calls")))
        if item is not None
    ]
    return build_response(
        provider=provider,
        model=_text(body.get("model")) or model,
        text=message_text(msg.get("content")) or _text(msg.get("refusal")),
        raw_calls=raw_calls,
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(body.get("usage")),
        response_id=_text(body.get("id")) or None,
        latency_ms=latency_ms,
        prices=prices,
    )


def raw_tool_call(item: Mapping[str, Any]) -> tuple[str | None, str, str]:
    """``(id, name, arguments text)`` of a ``tool_calls`` entry; arguments given as an object
    (some local servers do that) are written back as JSON text."""
    fn = as_object(item.get("function")) or {}
    arguments = fn.get("arguments")
    if isinstance(arguments, Mapping):
        arguments = canonical_json(arguments)
    return _text(item.get("id")) or None, _text(fn.get("name")), _text(arguments)


def message_text(content: object) -> str:
    """A message's ``content`` as text: a string, or the ``text`` parts of a list."""
    if isinstance(content, str):
        return content
    parts = [as_object(p) for p in as_list(content)]
    return "".join(_text(p.get("text")) for p in parts if p is not None and p.get("type") == "text")


def as_object(value: object) -> Mapping[str, Any] | None:
    """``value`` as a decoded JSON object, or ``None`` when it is not one."""
    return cast("Mapping[str, Any]", value) if isinstance(value, Mapping) else None


def as_list(value: object) -> list[Any]:
    """``value`` as a decoded JSON array (``[]`` when it is not one)."""
    return cast("list[Any]", value) if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
