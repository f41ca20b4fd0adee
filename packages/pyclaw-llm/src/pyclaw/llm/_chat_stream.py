"""Streamed Chat Completions chunks → ``StreamEvent``s, ending with the response ``complete()`` gives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyclaw.llm._chat_format import (
    as_list,
    as_object,
    build_response,
    message_text,
    parse_usage,
    raw_tool_call,
)
from pyclaw.llm._http_errors import error_detail, malformed_error, one_line, redact
from pyclaw.llm._pricing import ModelPrice
from pyclaw.meta import (
    LLMResponse,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallReady,
    Usage,
    new_id,
)


@dataclass
class _PendingCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list[str])


class ChatStreamAssembler:
    """Feeds on decoded ``chat.completion.chunk`` objects and says what happened, as events.

    ``feed(chunk)`` returns ``TextDelta``s and ``ToolCallDelta``s (calls are keyed by their
    ``index``; the first delta of a call carries its id and name), and once the choice's
    ``finish_reason`` arrives, one ``ToolCallReady`` per call. ``finish()`` returns the final
    ``ResponseDone``, whose response is built exactly as ``parse_chat_completion`` builds it, or
    raises a retryable ``ProviderError`` when the stream stopped before the model finished.
    Only the first choice is followed. ``secrets`` are redacted from error messages.
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
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.done = False
        """Set by the caller when the server sent ``data: [DONE]``."""
        self.usage = Usage()
        self._text: list[str] = []
        self._calls: dict[int, _PendingCall] = {}
        self._ready_sent = False

    @property
    def finished(self) -> bool:
        """Whether the model's turn is complete (a ``finish_reason`` or ``[DONE]`` was seen)."""
        return self.finish_reason is not None or self.done

    def feed(self, chunk: object) -> list[StreamEvent]:
        """The events one chunk brings. A chunk carrying ``error`` raises ``ProviderError``."""
        data = as_object(chunk)
        if data is None:
            raise malformed_error(self.provider, "a stream chunk is not a JSON object")
        if data.get("error") is not None:
            raise self._stream_error(data)
        if self.response_id is None and isinstance(data.get("id"), str):
            self.response_id = data["id"]
        if isinstance(data.get("model"), str) and data["model"]:
            self.model = data["model"]
        if data.get("usage") is not None:
            self.usage = parse_usage(data["usage"])
        events: list[StreamEvent] = []
        for item in as_list(data.get("choices")):
            choice = as_object(item)
            if choice is not None and choice.get("index", 0) == 0:
                self._feed_choice(choice, events)
        return events

    def _feed_choice(self, choice: Mapping[str, Any], events: list[StreamEvent]) -> None:
        delta = as_object(choice.get("delta")) or {}
        text = message_text(delta.get("content")) or message_text(delta.get("refusal"))
        if text:
            self._text.append(text)
            events.append(TextDelta(text=text))
        for position, item in enumerate(as_list(delta.get("tool_calls"))):
            piece = as_object(item)
            if piece is not None:
                events.append(self._feed_call(position, piece))
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason
            events.extend(self._ready_events())

    def _feed_call(self, position: int, piece: Mapping[str, Any]) -> ToolCallDelta:
        index = piece.get("index")
        index = index if isinstance(index, int) else position
        call_id, name, arguments = raw_tool_call(piece)
        pending = self._calls.setdefault(index, _PendingCall())
        first_id = call_id if call_id and pending.id is None else None
        first_name = name if name and not pending.name else None
        pending.id = pending.id or first_id
        pending.name = pending.name or name
        if arguments:
            pending.arguments.append(arguments)
        return ToolCallDelta(index=index, id=first_id, name=first_name, arguments_delta=arguments)

    def _ready_events(self) -> list[StreamEvent]:
        if self._ready_sent or not self._calls:
            return []
        self._ready_sent = True
        for pending in self._calls.values():  # ready events and the final response share ids
            pending.id = pending.id or new_id("call")
        return [ToolCallReady(call=call) for call in self.response().message.tool_calls]

    def response(self, latency_ms: float | None = None) -> LLMResponse:
        """The response assembled from the chunks seen so far."""
        return build_response(
            provider=self.provider,
            model=self.model,
            text="".join(self._text),
            raw_calls=[
                (c.id, c.name, "".join(c.arguments)) for _, c in sorted(self._calls.items())
            ],
            finish_reason=self.finish_reason,
            usage=self.usage,
            response_id=self.response_id,
            latency_ms=latency_ms,
            prices=self.prices,
        )

    def finish(self, *, latency_ms: float | None = None) -> list[StreamEvent]:
        """The last events: any ``ToolCallReady`` not sent yet, then ``ResponseDone``."""
        if not self.finished:
            raise ProviderError(
                f"{self.provider}: the stream ended before the response was complete",
                retryable=True,
                provider=self.provider,
            )
        events = self._ready_events()
        events.append(ResponseDone(response=self.response(latency_ms)))
        return events

    def _stream_error(self, data: Mapping[str, Any]) -> ProviderError:
        kind, message = error_detail(data)
        label = f" ({kind})" if kind else ""
        return ProviderError(
            f"{self.provider}: error in the stream{label}: {redact(one_line(message), self._secrets)}",
            retryable=kind is None or "invalid" not in kind,
            provider=self.provider,
        )
