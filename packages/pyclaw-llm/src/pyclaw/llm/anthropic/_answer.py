"""Assembling one Messages API answer into an ``LLMResponse``, from a whole message or a stream."""

from __future__ import annotations

import json
from collections.abc import Mapping

from pyclaw.llm._pricing import ModelPrice, cost_of
from pyclaw.llm._toolargs import parse_tool_arguments, tool_call_from_text
from pyclaw.llm.anthropic._format import MessagesCall
from pyclaw.meta import (
    ErrorInfo,
    LLMResponse,
    Message,
    Part,
    StopReason,
    TextPart,
    ToolCall,
    ToolCallPart,
    Usage,
)

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "refusal": StopReason.CONTENT_FILTER,
    "pause_turn": StopReason.END_TURN,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
"""The API's ``stop_reason`` → PyClaw's (unknown or missing → ``end_turn``)."""


def usage_of(
    input_tokens: int | None,
    output_tokens: int | None,
    cache_creation: int | None,
    cache_read: int | None,
) -> Usage:
    """PyClaw usage from the API's counts. The API counts cache writes and cache reads apart from
    ``input_tokens``; here ``input_tokens`` is the whole prompt (all three) and ``cached_tokens``
    the part read from the cache, as with OpenAI's ``prompt_tokens``/``cached_tokens``."""
    read = cache_read or 0
    return Usage(
        input_tokens=(input_tokens or 0) + (cache_creation or 0) + read,
        output_tokens=output_tokens or 0,
        cached_tokens=read,
    )


class AnswerBuilder:
    """Collects one answer: text, tool calls (with the errors of those that did not parse), the
    forced structured-output tool's answer as text, stop reason, usage (priced with ``prices`` over
    the built-in table) and ids."""

    def __init__(
        self,
        call: MessagesCall,
        *,
        provider: str,
        model: str,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self._call = call
        self._provider = provider
        self._prices = prices
        self.model = model
        self.response_id: str | None = None
        self.stop_reason: str | None = None
        self.usage = Usage()
        self._text: list[str] = []
        self._calls: list[tuple[int, ToolCall]] = []
        self._errors: list[ErrorInfo] = []
        self._answered = False

    def is_output_tool(self, api_name: str) -> bool:
        """Whether ``api_name`` is the tool that emulates ``response_format``."""
        output = self._call.output
        return output is not None and output.tool is not None and api_name == output.name

    def tool_name(self, api_name: str) -> str:
        """The PyClaw name of the tool the API calls ``api_name``."""
        return self._call.tool_name(api_name)

    def add_text(self, text: str) -> None:
        self._text.append(text)

    def add_tool_input(
        self, index: int, call_id: str, api_name: str, tool_input: object
    ) -> ToolCall | str:
        """Content block ``index``, a ``tool_use`` with decoded input → its ``ToolCall`` (or the
        structured answer's text, for the output tool)."""
        if self.is_output_tool(api_name):
            return self._answer(tool_input)
        if isinstance(tool_input, dict):
            call = ToolCall(id=call_id, name=self._call.tool_name(api_name), arguments=tool_input)  # pyright: ignore[reportUnknownArgumentType] - decoded JSON; pydantic validates
            self._calls.append((index, call))
            return call
        # Not an object: a string is taken as undecoded JSON text, anything else as its JSON.
        raw = tool_input if isinstance(tool_input, str) else json.dumps(tool_input)
        return self.add_tool_text(index, call_id, api_name, raw)

    def add_tool_text(self, index: int, call_id: str, api_name: str, raw: str) -> ToolCall | str:
        """Like ``add_tool_input`` from a streamed block's accumulated JSON text; text that does not
        parse gives a call with ``raw_arguments`` and an error in ``tool_call_errors``."""
        if self.is_output_tool(api_name):
            arguments, error = parse_tool_arguments(raw)
            return self._answer(arguments) if error is None else self._answer_text(raw)
        call, error = tool_call_from_text(call_id, self._call.tool_name(api_name), raw)
        self._calls.append((index, call))
        if error is not None:
            self._errors.append(error)
        return call

    def _answer(self, tool_input: object) -> str:
        output = self._call.output
        assert output is not None
        return self._answer_text(output.answer_text(tool_input))

    def _answer_text(self, text: str) -> str:
        self._answered = True
        self._text.append(text)
        return text

    def response(self, latency_ms: float | None) -> LLMResponse:
        """The ``LLMResponse`` for everything collected."""
        text = "".join(self._text)
        parts: list[Part] = [TextPart(text=text)] if text else []
        calls = [c for _, c in sorted(self._calls, key=lambda item: item[0])]  # content order
        parts.extend(ToolCallPart(call=c) for c in calls)
        stop = STOP_REASONS.get(self.stop_reason or "", StopReason.END_TURN)
        if stop is StopReason.TOOL_USE and self._answered and not calls:
            stop = StopReason.END_TURN  # the forced output tool is an answer, not a tool call
        return LLMResponse(
            model=self.model,
            provider=self._provider,
            message=Message(role="assistant", parts=tuple(parts)),
            stop_reason=stop,
            usage=self.usage,
            cost_usd=cost_of(self.model, self.usage, self._prices),
            latency_ms=latency_ms,
            response_id=self.response_id,
            tool_call_errors=tuple(self._errors),
        )
