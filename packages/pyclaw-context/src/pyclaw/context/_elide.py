"""Shorter stand-ins for long tool results, assistant texts and tool-call arguments.

They only change what one prompt shows: the session log keeps the full events. Every function is
deterministic (the same input gives the same output) and keeps what pairs a call with its result
(``call_id``, ``name``) and the result's ``status``, ``error`` and ``artifacts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from pyclaw.context._count import count_message, truncate_to_tokens
from pyclaw.context._tokens import TokenCounter
from pyclaw.meta import ArtifactRef, Message, Part, TextPart, ToolCall, ToolCallPart, ToolResult

HEAD_LINES = 3
"""Lines kept from the start of an elided text."""
TAIL_LINES = 2
"""Lines kept from the end of an elided text."""
LINE_CHARS = 160
"""Longest piece of one kept line."""
TEXT_TOKENS = 48
"""What an older assistant text of the current turn is cut to."""
ARGUMENT_TOKENS = 24
"""What a long string argument of an older tool call is cut to."""


def elision_note(tokens: int, artifacts: Sequence[ArtifactRef] = ()) -> str:
    """The marker put where content was left out of the prompt."""
    if artifacts:
        refs = ", ".join(a.uri for a in artifacts[:3])
        return f"[{tokens} tokens elided; the full output is stored as artifact {refs}]"
    return f"[{tokens} tokens elided to fit the context; ask again if needed]"


def _clip_line(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + "…"


def head_and_tail(text: str) -> tuple[str, str]:
    """The first and last few lines of ``text`` (each line clipped), or all of it when short."""
    lines = text.splitlines()
    if len(lines) <= HEAD_LINES + TAIL_LINES:
        head = lines
        tail: list[str] = []
        if len(text) > LINE_CHARS * 2 and len(lines) <= 1:  # one long line: its two ends
            return text[:LINE_CHARS] + "…", "…" + text[-LINE_CHARS // 2 :]
    else:
        head, tail = lines[:HEAD_LINES], lines[-TAIL_LINES:]
    return "\n".join(map(_clip_line, head)), "\n".join(map(_clip_line, tail))


def stub_result(counter: TokenCounter, result: ToolResult, *, bare: bool = False) -> ToolResult:
    """``result`` with its content replaced by its first and last lines and an elision note.

    ``bare`` keeps the note only. The note counts the tokens left out (measured by ``counter``).
    """
    content = result.content
    head, tail = ("", "") if bare else head_and_tail(content)
    elided = max(0, counter.count(content) - counter.count(head) - counter.count(tail))
    note = elision_note(elided, result.artifacts)
    text = "\n".join(p for p in (head, note, tail) if p)
    return result.model_copy(update={"content": text, "truncated": True})


def truncate_result(counter: TokenCounter, result: ToolResult, limit: int) -> ToolResult:
    """``result`` with its content cut (``truncate_to_tokens``) so the content is at most ``limit``
    tokens, the cut marked with an elision note; unchanged when it already fits."""
    content = result.content
    total = counter.count(content)
    if total <= limit:
        return result
    note = "\n" + elision_note(total - limit, result.artifacts)
    kept = truncate_to_tokens(counter, content, max(0, limit - counter.count(note)), marker="")
    text = kept + note if kept else note.lstrip("\n")
    return result.model_copy(update={"content": text, "truncated": True})


def fit_result(counter: TokenCounter, message: Message, limit: int) -> tuple[Message, int]:
    """A tool message whose result is cut so the whole message counts at most ``limit`` tokens
    (or is a bare stub when even that does not fit), with its count."""
    result = message.tool_results[0]
    empty = count_message(counter, Message.tool(result.model_copy(update={"content": ""})))
    room = max(0, limit - empty)
    for _ in range(4):  # the note's own digits may tokenize differently: tighten and retry
        cut = Message.tool(truncate_result(counter, result, room))
        tokens = count_message(counter, cut)
        if tokens <= limit or room == 0:
            break
        room = max(0, room - (tokens - limit))
    else:
        cut = Message.tool(stub_result(counter, result, bare=True))
        tokens = count_message(counter, cut)
    return cut, tokens


def _short_text(counter: TokenCounter, text: str, limit: int) -> str:
    total = counter.count(text)
    if total <= limit + 16:
        return text
    kept = truncate_to_tokens(counter, text, limit, marker="")
    return f"{kept} [{total - counter.count(kept)} tokens elided]"


def _short_value(counter: TokenCounter, value: object) -> object:
    """A JSON value with every long string in it cut."""
    if isinstance(value, str):
        return _short_text(counter, value, ARGUMENT_TOKENS)
    if isinstance(value, Mapping):
        items = cast("Mapping[str, object]", value)
        return {k: _short_value(counter, v) for k, v in items.items()}
    if isinstance(value, list):
        return [_short_value(counter, v) for v in cast("list[object]", value)]
    return value


def _short_call(counter: TokenCounter, call: ToolCall) -> ToolCall:
    if call.raw_arguments is not None:
        return call.model_copy(
            update={"raw_arguments": _short_text(counter, call.raw_arguments, ARGUMENT_TOKENS)}
        )
    return call.model_copy(update={"arguments": _short_value(counter, call.arguments)})


def shrink_assistant(counter: TokenCounter, message: Message, *, note: str = "") -> Message:
    """An assistant message with its text cut to about ``TEXT_TOKENS`` and long string arguments
    of its tool calls cut to about ``ARGUMENT_TOKENS`` (ids and names kept); ``note`` goes first."""
    parts: list[Part] = [TextPart(text=note)] if note else []
    for part in message.parts:
        if isinstance(part, TextPart):
            short = _short_text(counter, part.text, TEXT_TOKENS)
            if short:
                parts.append(TextPart(text=short))
        elif isinstance(part, ToolCallPart):
            parts.append(ToolCallPart(call=_short_call(counter, part.call)))
        else:
            parts.append(part)
    return message.model_copy(update={"parts": tuple(parts)})


def with_note(message: Message, note: str) -> Message:
    """``message`` with a text part ``note`` in front."""
    return message.model_copy(update={"parts": (TextPart(text=note), *message.parts)})
