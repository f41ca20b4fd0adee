"""Scripted replies: what a test can hand a fake provider, and how it becomes an ``LLMResponse``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, cast

from pyclaw.meta import (
    ImagePart,
    LLMRequest,
    LLMResponse,
    Message,
    StopReason,
    TextPart,
    ToolCall,
    ToolCallPart,
    ToolResultPart,
    Usage,
    canonical_json,
)

Reply: TypeAlias = str | ToolCall | Sequence[ToolCall] | LLMResponse | Exception
"""One model turn: a text answer, one or several tool calls, a complete response, or an exception
to raise instead of answering (to script a provider failure)."""


def check_reply(reply: object) -> Reply:
    """Return ``reply`` if it is a valid ``Reply``, else raise ``TypeError`` saying why."""
    if isinstance(reply, str | ToolCall | LLMResponse | Exception):
        return reply
    if isinstance(reply, Sequence):
        items = cast("Sequence[object]", reply)
        if items and all(isinstance(c, ToolCall) for c in items):
            return [c for c in items if isinstance(c, ToolCall)]
    raise TypeError(
        "a scripted reply is a str, a ToolCall, a non-empty list of ToolCalls, an LLMResponse "
        f"or an exception, not {reply!r:.80}"
    )


def arguments_text(call: ToolCall) -> str:
    """The arguments as the model would have written them: the raw text when there is one."""
    return call.raw_arguments if call.raw_arguments is not None else canonical_json(call.arguments)


def estimate_tokens(chars: int) -> int:
    """The deterministic token estimate used by the fake providers: one token per 4 characters."""
    return -(-chars // 4)


def _message_chars(message: Message) -> int:
    total = 0
    for part in message.parts:
        if isinstance(part, TextPart):
            total += len(part.text)
        elif isinstance(part, ToolCallPart):
            total += len(part.call.name) + len(arguments_text(part.call))
        elif isinstance(part, ToolResultPart):
            total += len(part.result.content)
        else:
            assert isinstance(part, ImagePart)  # images are not counted
    return total


def estimate_usage(request: LLMRequest, output: Message) -> Usage:
    """``ceil(chars / 4)`` of the input (system prompt and messages) and of the output message."""
    input_chars = len(request.system or "") + sum(_message_chars(m) for m in request.messages)
    return Usage(
        input_tokens=estimate_tokens(input_chars),
        output_tokens=estimate_tokens(_message_chars(output)),
    )


def build_response(
    reply: str | ToolCall | Sequence[ToolCall] | LLMResponse,
    request: LLMRequest,
    *,
    provider: str,
    latency_ms: float | None,
) -> LLMResponse:
    """The response a fake provider gives for ``reply``.

    A full ``LLMResponse`` is kept as given, except that ``usage``, ``stop_reason`` and
    ``latency_ms`` are filled in when it did not set them.
    """
    if isinstance(reply, LLMResponse):
        given = reply.model_fields_set
        update: dict[str, object] = {}
        if "usage" not in given:
            update["usage"] = estimate_usage(request, reply.message)
        if "stop_reason" not in given:
            update["stop_reason"] = _stop_reason(reply.message)
        if "latency_ms" not in given and latency_ms is not None:
            update["latency_ms"] = latency_ms
        return reply.model_copy(update=update)
    if isinstance(reply, str):
        message = Message.assistant(reply)
    elif isinstance(reply, ToolCall):
        message = Message.assistant(tool_calls=(reply,))
    else:
        message = Message.assistant(tool_calls=tuple(reply))
    return LLMResponse(
        model=request.model,
        provider=provider,
        message=message,
        stop_reason=_stop_reason(message),
        usage=estimate_usage(request, message),
        latency_ms=latency_ms,
    )


def _stop_reason(message: Message) -> StopReason:
    return StopReason.TOOL_USE if message.tool_calls else StopReason.END_TURN
