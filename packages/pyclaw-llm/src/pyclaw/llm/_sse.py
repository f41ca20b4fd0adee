"""Reading the ``data`` of server-sent events from a stream of lines, leniently.

Standard SSE joins consecutive ``data:`` lines until a blank line. Model servers put one JSON
document per ``data:`` line, and some forget the blank line between events, so a ``data:`` line
that is complete on its own (a one-line JSON object, or ``[DONE]``) is an event at once; other lines are
joined, as the standard says, until a blank line. Comments (``:``), ``event:``, ``id:`` and
``retry:`` lines are skipped; ``\\r\\n`` endings and a missing space after ``data:`` are fine.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

DONE = "[DONE]"
"""The OpenAI stream's end marker."""


def _complete(text: str) -> bool:
    """Whether a ``data`` line looks whole: ``[DONE]`` or a JSON object on one line (a cheap
    check; the caller decodes it and reports a broken one)."""
    return text == DONE or (text.startswith("{") and text.endswith("}"))


async def sse_data(lines: AsyncIterable[str]) -> AsyncGenerator[str, None]:
    """The ``data`` payload of every event in ``lines`` (one line each, endings optional)."""
    pending: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if pending:
                yield "\n".join(pending)
                pending.clear()
            continue
        if not line.startswith("data:"):
            continue  # a comment, event:, id: or retry: line
        value = line[5:].removeprefix(" ")
        if not pending and _complete(value):
            yield value
        else:
            pending.append(value)
    if pending:
        yield "\n".join(pending)
