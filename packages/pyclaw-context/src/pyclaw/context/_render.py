"""Session events to model messages, with token counts cached per event, per turn and per summary.

Only conversation events are sent: ``user_message`` (user), ``assistant_message`` (assistant text
and tool calls) and ``tool_result`` (tool). Every tool call is followed by its results, in call
order: a call whose result was never recorded gets a synthesized ``uncertain`` result, and a result
without a matching call in the same stretch of history is dropped. Everything else (LLM request and
response records, policy, approvals, run markers, notes, guard actions, errors, custom events and
the separate ``tool_call`` records) stays out of the prompt. A ``summary`` event renders as a user
note standing in for the events it covers.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from pyclaw.context._count import count_message
from pyclaw.context._tokens import TokenCounter
from pyclaw.meta import (
    ImagePart,
    Message,
    Part,
    SessionEvent,
    SummaryEvent,
    TextPart,
    ToolCall,
    ToolCallPart,
    ToolResult,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Rendered = tuple[Message, int]
"""A message and its token count."""

RENDERED_KINDS = frozenset({"user_message", "assistant_message", "tool_result"})

UNCERTAIN_CONTENT = (
    "No result was recorded for this call: it may or may not have run. "
    "Check its effect before repeating it."
)


def uncertain_result(call: ToolCall) -> ToolResult:
    """The stand-in result of a tool call whose outcome was never recorded."""
    return ToolResult(
        call_id=call.id, name=call.name, status="uncertain", content=UNCERTAIN_CONTENT
    )


def summary_text(summary: SummaryEvent) -> str:
    return (
        f"Summary of earlier conversation (events {summary.first_seq}–{summary.last_seq}): "
        f"{summary.text}"
    )


def _keep(parts: tuple[Part, ...], allowed: tuple[type, ...]) -> tuple[Part, ...] | None:
    """The allowed parts, or None when all of them already are (no copy needed)."""
    if all(isinstance(p, allowed) for p in parts):
        return None
    return tuple(p for p in parts if isinstance(p, allowed))


def _user(msg: Message) -> Message:
    kept = _keep(msg.parts, (TextPart, ImagePart))
    if kept is None and msg.role == "user":
        return msg
    return Message(role="user", parts=msg.parts if kept is None else kept, name=msg.name)


def _assistant(msg: Message) -> Message | None:
    kept = _keep(msg.parts, (TextPart, ImagePart, ToolCallPart))
    parts = msg.parts if kept is None else kept
    if not any(not isinstance(p, TextPart) or p.text for p in parts):
        return None  # an empty assistant message: providers reject it
    if kept is None and msg.role == "assistant":
        return msg
    return Message(role="assistant", parts=parts, name=msg.name)


def render_payload(event: SessionEvent) -> Message | None:
    """The message one event contributes on its own (tool pairing aside), or None."""
    payload = event.payload
    if payload.kind == "user_message":
        return _user(payload.message)
    if payload.kind == "assistant_message":
        return _assistant(payload.message)
    if payload.kind == "tool_result":
        return Message.tool(payload.result)
    return None


class Bounded(Generic[K, V]):
    """A dict that forgets its older half when full (dicts keep insertion order)."""

    def __init__(self, size: int) -> None:
        self.size = max(size, 1)
        self.data: dict[K, V] = {}

    def put(self, key: K, value: V) -> V:
        if len(self.data) >= self.size:
            for old in list(self.data)[: len(self.data) // 2 + 1]:
                del self.data[old]
        self.data[key] = value
        return value


class Renderer:
    """Renders events, turns and summaries, caching their token counts (events are immutable)."""

    def __init__(self, counter: TokenCounter, cache_size: int = 200_000) -> None:
        self.counter = counter
        self._events: Bounded[str, Rendered | None] = Bounded(cache_size)
        self._turns: Bounded[tuple[str, str, int], tuple[list[Rendered], int]] = Bounded(
            max(cache_size // 4, 1)
        )
        self._small: Bounded[tuple[str, str], Rendered] = Bounded(max(cache_size // 4, 1))

    def message(self, message: Message) -> Rendered:
        return message, count_message(self.counter, message)

    def event(self, event: SessionEvent) -> Rendered | None:
        data = self._events.data
        if event.hash in data:
            return data[event.hash]
        msg = render_payload(event)
        return self._events.put(event.hash, None if msg is None else self.message(msg))

    def uncertain(self, call: ToolCall) -> Rendered:
        key = ("uncertain:" + call.name, call.id)
        hit = self._small.data.get(key)
        if hit is None:
            hit = self._small.put(key, self.message(Message.tool(uncertain_result(call))))
        return hit

    def summary(self, event: SessionEvent | None, summary: SummaryEvent) -> Rendered:
        """A summary as a user note; cached by its event's hash when it was already recorded."""
        if event is None:
            return self.message(Message.user(summary_text(summary)))
        key = ("summary", event.hash)
        hit = self._small.data.get(key)
        if hit is None:
            hit = self._small.put(key, self.message(Message.user(summary_text(summary))))
        return hit

    def turn(self, events: Sequence[SessionEvent]) -> tuple[list[Rendered], int]:
        """The messages of a stretch of events, tool calls paired with their results, and their total.

        Cached by the first and last event's hash: the hash chain pins everything in between.
        """
        if not events:
            return [], 0
        key = (events[0].hash, events[-1].hash, len(events))
        hit = self._turns.data.get(key)
        if hit is None:
            out = self._pair(events)
            hit = self._turns.put(key, (out, sum(n for _, n in out)))
        return hit

    def _pair(self, events: Sequence[SessionEvent]) -> list[Rendered]:
        results: dict[str, SessionEvent] = {}
        for ev in events:
            payload = ev.payload
            if payload.kind == "tool_result":
                results[payload.result.call_id] = ev  # a later result for the same call wins
        used: set[str] = set()
        out: list[Rendered] = []
        for ev in events:
            kind = ev.payload.kind
            if kind not in RENDERED_KINDS or kind == "tool_result":
                continue
            rendered = self.event(ev)
            if rendered is None:
                continue
            out.append(rendered)
            for call in rendered[0].tool_calls:
                result_event = results.get(call.id) if call.id not in used else None
                paired = self.event(result_event) if result_event is not None else None
                out.append(paired if paired is not None else self.uncertain(call))
                used.add(call.id)
        return out


def render_events(events: Sequence[SessionEvent], counter: TokenCounter) -> list[Message]:
    """The messages a stretch of history sends to the model (no summaries applied, no budget)."""
    return [m for m, _ in Renderer(counter).turn(events)[0]]
