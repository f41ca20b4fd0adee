"""What a fake server can be scripted to do: answer (``FakeReply``) or fail (the ``*Fault`` types)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias, cast

from pyclaw.meta import StopReason, ToolCall, Usage


@dataclass(frozen=True)
class FakeReply:
    """One model turn as the fake server sends it.

    ``tool_calls`` use ``pyclaw.meta.ToolCall``: the wire arguments are ``raw_arguments`` when set
    (so malformed JSON can be scripted), else the JSON of ``arguments``. ``usage`` ``None`` means an
    estimate (one token per 4 characters of input and output); ``Usage.input_tokens`` counts cached
    tokens too (sent to Anthropic clients as ``input_tokens - cached_tokens`` plus
    ``cache_read_input_tokens``). ``stop_reason`` ``None`` derives it (tool use when there are tool
    calls); a ``StopReason`` is translated to the protocol's word; any other string is sent as is.
    ``model`` ``None`` echoes the request's model. ``delay`` seconds pass before the answer starts;
    ``chunk_delay`` seconds between streamed events (makes a stream slow enough to cancel).
    ``argument_chunk`` characters of tool-call arguments go in each streamed fragment.
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    stop_reason: StopReason | str | None = None
    model: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    argument_chunk: int = 8


@dataclass(frozen=True)
class StatusFault:
    """An HTTP error response with the protocol's error JSON.

    ``retry_after`` becomes the ``Retry-After`` header (seconds, or a string sent verbatim such as
    an HTTP date); ``error_type`` overrides the error type the status normally carries.
    """

    status: int
    message: str = ""
    retry_after: float | str | None = None
    error_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str])


@dataclass(frozen=True)
class MalformedJSONFault:
    """A 200 response whose body (or, when streaming, whose first ``data:`` event) is broken JSON."""

    body: str = '{"id": "broken", "choices": [{"index": 0, "message": {"role": "assist'


@dataclass(frozen=True)
class DropFault:
    """The connection is cut in the middle of the answer: after ``after_events`` stream events, or
    half-way through a JSON body. ``reply`` is what was being sent."""

    reply: FakeReply = FakeReply(text="This answer is cut off somewhere in the middle of it.")
    after_events: int = 2


@dataclass(frozen=True)
class HangFault:
    """The server goes silent for ``seconds`` (then closes the connection): before the response
    starts, or, with ``after_events`` set, in the middle of a stream. A client that disconnects or
    a server that stops ends the hang at once."""

    seconds: float = 60.0
    after_events: int | None = None
    reply: FakeReply = FakeReply(text="You should never read the end of this answer.")


@dataclass(frozen=True)
class StreamErrorFault:
    """A stream that starts normally and then carries the protocol's in-stream error event (OpenAI:
    ``data: {"error": ...}``; Anthropic: ``event: error``) after ``after_events`` events. A
    non-streaming request gets the same error as HTTP 500 (OpenAI) or 529 (Anthropic)."""

    message: str = "The server had an error while processing your request."
    error_type: str | None = None
    after_events: int = 2
    reply: FakeReply = FakeReply(text="An answer interrupted by an error.")


Fault: TypeAlias = StatusFault | MalformedJSONFault | DropFault | HangFault | StreamErrorFault
ScriptItem: TypeAlias = str | ToolCall | Sequence[ToolCall] | FakeReply | Fault
"""What a test can queue: a text answer, one or several tool calls, a ``FakeReply``, or a fault."""

_FAULTS = (StatusFault, MalformedJSONFault, DropFault, HangFault, StreamErrorFault)


def to_step(item: object) -> FakeReply | Fault:
    """``item`` as a ``FakeReply`` or a fault; ``TypeError`` for anything else."""
    if isinstance(item, (FakeReply, *_FAULTS)):
        return item
    if isinstance(item, str):
        return FakeReply(text=item)
    if isinstance(item, ToolCall):
        return FakeReply(tool_calls=(item,))
    if isinstance(item, Sequence) and not isinstance(item, str | bytes):
        calls = cast("Sequence[object]", item)
        if calls and all(isinstance(c, ToolCall) for c in calls):
            return FakeReply(tool_calls=tuple(c for c in calls if isinstance(c, ToolCall)))
    raise TypeError(
        "a fake server step is a str, a ToolCall, a non-empty list of ToolCalls, a FakeReply or a "
        f"fault (StatusFault, MalformedJSONFault, DropFault, HangFault, StreamErrorFault), "
        f"not {item!r:.80}"
    )


def estimate(chars: int) -> int:
    """One token per 4 characters, rounded up (the fake servers' usage estimate)."""
    return -(-chars // 4)


def text_pieces(text: str) -> list[str]:
    """``text`` cut into word-sized pieces (each word with the whitespace after it)."""
    pieces: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char.isspace() and index + 1 < len(text) and not text[index + 1].isspace():
            pieces.append(text[start : index + 1])
            start = index + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def fragments(text: str, size: int) -> list[str]:
    """``text`` in pieces of ``size`` characters (at least one piece, maybe empty)."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


_TEXT_KEYS = frozenset({"content", "text", "system", "arguments"})


def input_chars(value: object, key: str | None = None) -> int:
    """Characters of text in a request body: every string under a ``content``, ``text``,
    ``system`` or ``arguments`` key, however deeply nested (for the usage estimate)."""
    if isinstance(value, str):
        return len(value) if key in _TEXT_KEYS else 0
    if isinstance(value, Mapping):
        items = cast("Mapping[str, object]", value).items()
        return sum(input_chars(v, k) for k, v in items)
    if isinstance(value, list):
        return sum(input_chars(v, key) for v in cast("list[object]", value))
    return 0


def reply_usage(reply: FakeReply, request: object, arguments: Sequence[str]) -> Usage:
    """The reply's own ``usage``, else the estimate from the request's and the answer's text."""
    if reply.usage is not None:
        return reply.usage
    output = len(reply.text) + sum(len(c.name) for c in reply.tool_calls) + sum(map(len, arguments))
    return Usage(input_tokens=estimate(input_chars(request)), output_tokens=estimate(output))


def last_user_text(messages: object) -> str:
    """The text of the last ``user`` message (a string, or the ``text`` parts/blocks of a list)."""
    for message in reversed(cast("list[object]", messages) if isinstance(messages, list) else []):
        if isinstance(message, Mapping):
            item = cast("Mapping[str, object]", message)
            if item.get("role") == "user":
                return _content_text(item.get("content"))
    return ""


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts: list[str] = []
    for block in cast("list[object]", content):
        if isinstance(block, Mapping):
            part = cast("Mapping[str, object]", block)
            text = part.get("text")
            if part.get("type") == "text" and isinstance(text, str):
                texts.append(text)
    return "".join(texts)
