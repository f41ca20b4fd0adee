"""Turning a complete response into the stream of events a real provider would send."""

from __future__ import annotations

import re

from pyclaw.llm._replies import arguments_text
from pyclaw.meta import (
    LLMResponse,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallReady,
)

_WORD = re.compile(r"\S+\s*|\s+")
ARGUMENT_CHUNK = 16
"""Characters of tool-call arguments per ``ToolCallDelta``."""


def stream_events(response: LLMResponse) -> list[StreamEvent]:
    """Text as word-sized ``TextDelta``s; then for each tool call its ``ToolCallDelta`` pieces (the
    first carries id and name) and a ``ToolCallReady``; finally ``ResponseDone(response)``."""
    events: list[StreamEvent] = [TextDelta(text=w) for w in _WORD.findall(response.message.text)]
    for index, call in enumerate(response.message.tool_calls):
        args = arguments_text(call)
        pieces = [args[i : i + ARGUMENT_CHUNK] for i in range(0, len(args), ARGUMENT_CHUNK)]
        first, *rest = pieces or [""]
        events.append(ToolCallDelta(index=index, id=call.id, name=call.name, arguments_delta=first))
        events.extend(ToolCallDelta(index=index, arguments_delta=p) for p in rest)
        events.append(ToolCallReady(call=call))
    events.append(ResponseDone(response=response))
    return events
