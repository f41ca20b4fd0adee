"""How many tokens a message, a tool list and a whole request cost (the builder's accounting).

Providers add framing around each message; the constants below approximate it from above, so the
count of a request is what ``count_request`` says, and the builder keeps that under budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyclaw.context._tokens import BoundingCounter, PrefixCounter, TokenCounter
from pyclaw.meta import (
    ImagePart,
    LLMRequest,
    Message,
    Part,
    TextPart,
    ToolCallPart,
    ToolSpec,
    canonical_json,
)

MESSAGE_OVERHEAD = 4
"""Role and framing of one message."""
REQUEST_OVERHEAD = 3
"""Priming of the reply."""
TOOL_OVERHEAD = 8
"""Framing of one tool definition, on top of its JSON."""
TOOL_CALL_OVERHEAD = 4
"""Framing of one tool call or tool result, on top of its id, name and body."""
IMAGE_TOKENS = 1600
"""Fixed estimate for one image (a large image at high detail costs about this much)."""


def count_part(counter: TokenCounter, part: Part) -> int:
    if isinstance(part, TextPart):
        return counter.count(part.text)
    if isinstance(part, ImagePart):
        return IMAGE_TOKENS
    if isinstance(part, ToolCallPart):
        call = part.call
        body = (
            call.raw_arguments if call.raw_arguments is not None else canonical_json(call.arguments)
        )
        return (
            TOOL_CALL_OVERHEAD
            + counter.count(call.id)
            + counter.count(call.name)
            + counter.count(body)
        )
    result = part.result
    n = TOOL_CALL_OVERHEAD + counter.count(result.call_id) + counter.count(result.name)
    n += counter.count(result.content)
    if result.status != "ok":
        n += counter.count(result.status)
    if result.error is not None:
        n += counter.count(result.error.message)
    return n


def count_message(counter: TokenCounter, message: Message) -> int:
    """Tokens of one message: framing, name, and every part (text, image, tool call or result)."""
    n = MESSAGE_OVERHEAD + (counter.count(message.name) if message.name else 0)
    return n + sum(count_part(counter, part) for part in message.parts)


def count_stable(counter: TokenCounter, text: str) -> int:
    """``counter.count(text)`` for a text that recurs across processes (tool schemas, system
    prompts): a ``BoundingCounter`` remembers its exact count for later processes."""
    if isinstance(counter, BoundingCounter):
        return counter.count_stable(text)
    return counter.count(text)


def count_tool(counter: TokenCounter, tool: ToolSpec) -> int:
    body = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return TOOL_OVERHEAD + count_stable(counter, canonical_json(body))


def count_system(counter: TokenCounter, system: str | None) -> int:
    return MESSAGE_OVERHEAD + count_stable(counter, system) if system else 0


def count_request(counter: TokenCounter, request: LLMRequest) -> int:
    """The prompt tokens of a request: system prompt, tool schemas and messages."""
    n = REQUEST_OVERHEAD + count_system(counter, request.system)
    n += sum(count_tool(counter, tool) for tool in request.tools)
    return n + sum(count_message(counter, m) for m in request.messages)


def count_messages(counter: TokenCounter, messages: Sequence[Message]) -> int:
    return sum(count_message(counter, m) for m in messages)


def truncate_to_tokens(counter: TokenCounter, text: str, limit: int, marker: str = " …") -> str:
    """The longest prefix of ``text`` (plus ``marker`` when cut) that counts at most ``limit``.

    With a ``PrefixCounter`` (tiktoken) the text is encoded once and cut after the tokens that
    fit beside the marker, the cut checked by counting it (stepping back a token when the marker
    tokenizes differently beside the text): the longest prefix ending on one of the text's token
    boundaries. Other counters are searched by counting prefixes.
    """
    reserve = counter.count(marker) if marker else 0
    if isinstance(counter, PrefixCounter):
        quick = counter.count_and_cut(text, max(limit - reserve, 0))
        if quick is not None:
            return cut_at_token(counter, text, limit, marker=marker, reserve=reserve, quick=quick)
    if counter.count(text) <= limit:
        return text
    if limit <= reserve:
        return ""
    lo, hi = 0, min(len(text), max(limit, 1) * 16)
    if counter.count(text[:hi] + marker) <= limit:
        return text[:hi] + marker
    while lo < hi:  # largest n with count(text[:n] + marker) <= limit
        mid = (lo + hi + 1) // 2
        if counter.count(text[:mid] + marker) <= limit:
            lo = mid
        else:
            hi = mid - 1
    # BPE counts are not perfectly monotonic in the prefix length: verify, stepping back if needed.
    while lo > 0 and counter.count(text[:lo] + marker) > limit:
        lo -= max(1, lo // 16)
    return text[:lo] + marker if lo > 0 else ""


def cut_at_token(
    counter: PrefixCounter,
    text: str,
    limit: int,
    *,
    marker: str,
    reserve: int,
    quick: tuple[int, int],
) -> str:
    """``truncate_to_tokens`` given ``quick``: the text's count and where its first
    ``limit - reserve`` tokens end."""
    total, end = quick
    if total <= limit:
        return text
    if limit <= reserve:
        return ""
    keep = limit - reserve
    while end > 0:
        cut = text[:end] + marker
        if counter.count(cut) <= limit:
            return cut
        keep -= 1  # the marker merged differently with the text: one token fewer
        again = counter.count_and_cut(text[:end], keep)
        end = min(end - 1, again[1]) if again is not None else end - 1
    return ""
