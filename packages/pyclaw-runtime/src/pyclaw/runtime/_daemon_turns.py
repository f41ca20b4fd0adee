"""How the daemon decides what to do with an inbox item after a restart, and what to reply.

An item carries the id of the run it started (written before the run began). After a crash:

- no such run recorded → the run never started: run it under that id;
- the run is still ``running`` / ``interrupted`` (or ``cancelled`` by a graceful shutdown that
  put the item back) → resume it (``RunRequest.resume_of``): completed tool calls are not run
  again, started ones are shown to the model as uncertain;
- the run finished → its recorded answer is the reply: nothing runs again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyclaw.meta import (
    AssistantMessageEvent,
    RunNotFoundError,
    RunRecord,
    RunResult,
    RunStatus,
    SessionLog,
    new_id,
)
from pyclaw.runtime._inbox import InboxItem

STOPPED_REPLY = "⏹ Stopped."
PARKED_REPLY = (
    "⚠ This chat is parked: a message crashed the agent {attempts} times in a row and was set "
    "aside. Send /new to start a fresh session."
)
PARKED_NOTICE = "⚠ This chat is parked after repeated crashes. Send /new to start a fresh session."


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """Run ``run_id`` (resuming ``resume_of``), or reply ``answer`` without running anything."""

    run_id: str | None = None
    resume_of: str | None = None
    answer: str | None = None


async def plan_turn(sessions: SessionLog, item: InboxItem) -> TurnPlan:
    """What a (maybe interrupted) item needs: a fresh run, a resumed one, or only its reply."""
    if item.run_id is None or item.session_id is None:
        return TurnPlan(run_id=new_id("run"))
    try:
        record = await sessions.get_run(item.run_id)
    except RunNotFoundError:
        # marked running, but the brain never started it: start it as it was meant to run
        return TurnPlan(run_id=item.run_id, resume_of=item.resume_of)
    if _resumable(record, item):
        return TurnPlan(run_id=new_id("run"), resume_of=record.id)
    return TurnPlan(answer=await recorded_answer(sessions, record))


def _resumable(record: RunRecord, item: InboxItem) -> bool:
    if record.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
        return True
    # A graceful shutdown cancels the run and puts the item back in the queue; a /stop leaves
    # the item running until its "stopped" reply is stored, so that one is not resumed.
    return record.status is RunStatus.CANCELLED and item.status == "queued"


async def recorded_answer(sessions: SessionLog, record: RunRecord) -> str:
    """The reply a finished run gave (its final assistant message), read from the log."""
    events = await sessions.tail(record.session_id, 200)
    for event in reversed(events):
        payload = event.payload
        if (
            event.run_id == record.id
            and isinstance(payload, AssistantMessageEvent)
            and payload.final
            and payload.message.text
        ):
            return payload.message.text
    if record.status is RunStatus.CANCELLED:
        return STOPPED_REPLY
    if record.error is not None:
        return f"⚠ {record.error.message}"
    return "(no answer)"


def reply_text(result: RunResult, *, stopped: bool = False) -> str:
    """What the user sees for a finished run."""
    if stopped or result.status is RunStatus.CANCELLED:
        return STOPPED_REPLY
    text = result.answer.text if result.answer is not None else ""
    if text.strip():
        return text
    if result.error is not None:
        return f"⚠ {result.error.message}"
    return "(no answer)"
