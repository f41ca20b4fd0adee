"""The pairing guarantee: every call and model request of a run ends with a recorded outcome.

A provider rejects a history with a tool call that has no result (HTTP 400), so a run that stops
at any point (done, budget, crash, cancellation) first records a terminal result for each of its
tool calls still lacking one, and an error response for a model request still lacking one.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyclaw.brain._calls import unfinished
from pyclaw.brain._state import Outcome, RunState
from pyclaw.meta import (
    AssistantMessageEvent,
    ErrorInfo,
    EventPayload,
    LLMRequestEvent,
    LLMResponseEvent,
    SessionEvent,
    ToolCall,
    ToolCallEvent,
    ToolResultEvent,
)


def unpaired(
    events: Sequence[SessionEvent], run_id: str
) -> tuple[list[ToolCall], list[LLMRequestEvent]]:
    """The run's tool calls without a result and model requests without a response, in order."""
    calls: dict[str, ToolCall] = {}
    answered: set[str] = set()
    requests: dict[str, LLMRequestEvent] = {}
    responded: set[str] = set()
    for event in events:
        if event.run_id != run_id:
            continue
        payload = event.payload
        if isinstance(payload, AssistantMessageEvent):
            for call in payload.message.tool_calls:
                calls.setdefault(call.id, call)
        elif isinstance(payload, ToolCallEvent):
            calls.setdefault(payload.call.id, payload.call)
        elif isinstance(payload, ToolResultEvent):
            answered.add(payload.result.call_id)
        elif isinstance(payload, LLMRequestEvent):
            requests[payload.call_id] = payload
        elif isinstance(payload, LLMResponseEvent):
            responded.add(payload.call_id)
    return (
        [call for call_id, call in calls.items() if call_id not in answered],
        [req for call_id, req in requests.items() if call_id not in responded],
    )


async def seal(st: RunState, outcome: Outcome) -> None:
    """Record the terminal results the run still owes (after reading what really got written)."""
    rec = st.recorder
    await rec.sync()
    calls, requests = unpaired(rec.history.events[st.first_index :], rec.run_id)
    payloads: list[EventPayload] = [
        LLMResponseEvent(
            call_id=req.call_id,
            provider=req.provider,
            error=ErrorInfo(type="RunStopped", message=outcome.unfinished),
        )
        for req in requests
    ]
    for call in calls:
        known = st.outcomes.get(call.id)
        result = known or unfinished(call, outcome.unfinished_status, outcome.unfinished)
        payloads.append(ToolResultEvent(result=result))
    if payloads:
        await rec.add(*payloads)
