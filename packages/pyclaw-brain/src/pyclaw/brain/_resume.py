"""Resuming a turn a crash interrupted (``RunRequest.resume_of``).

The resumed run is a new run in the same session. Its ``run_started`` event (and run record)
carries the trigger ``resume:<run id>``: written by ``start_run`` together with the run itself, so
the link survives however early the resumed run crashes too. Following these links from the run
named by ``resume_of`` gives the whole turn (a resume of a resume of the run that recorded the
user message); its events are those of the session log tagged with one of these run ids.
"""

from __future__ import annotations

import logging

from pyclaw.brain._state import RunState
from pyclaw.brain._survey import Interrupted, Recorded, survey
from pyclaw.meta import (
    ErrorInfo,
    EventPayload,
    NoteEvent,
    NotFoundError,
    PyClawError,
    RunRecord,
    RunRequest,
    RunStatus,
    SessionLog,
    ToolCall,
    ToolResult,
    UsageError,
    UserMessageEvent,
)

_log = logging.getLogger("pyclaw.brain")

RESUME_TRIGGER = "resume:"
"""Prefix of the ``trigger`` of a resumed run; the resumed run's id follows it."""

RERUN_REASON = (
    "this call was interrupted by a crash and may already have run; approve running it again"
)

RESUMABLE = frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.CANCELLED})
"""Statuses of a run that can be resumed: its process died (``running``, ``interrupted``) or a
graceful shutdown stopped it (``cancelled``; the daemon puts such a turn back in its queue)."""

_INTERRUPTED = ErrorInfo(
    type="Interrupted", message="the process stopped before this run finished", retryable=True
)


def resume_trigger(run_id: str) -> str:
    return f"{RESUME_TRIGGER}{run_id}"


def resumed_from(trigger: str | None) -> str | None:
    """The run a run with this ``trigger`` resumed, if it was a resume."""
    if trigger is None or not trigger.startswith(RESUME_TRIGGER):
        return None
    return trigger[len(RESUME_TRIGGER) :] or None


async def resume_chain(sessions: SessionLog, request: RunRequest) -> tuple[RunRecord, ...]:
    """The runs of the interrupted turn, the one named by ``request.resume_of`` first.

    Raises ``UsageError`` when that run is not a ``running``, ``interrupted`` or ``cancelled`` run
    of this session and agent, or when another run already resumed it (two resumes of one turn would
    both act on it).
    """
    target = request.resume_of
    assert target is not None
    what = f"cannot resume run {target}"
    try:
        record = await sessions.get_run(target)
    except NotFoundError:
        raise UsageError(f"{what}: there is no such run") from None
    if record.session_id != request.session_id:
        raise UsageError(f"{what}: it belongs to session {record.session_id}, not this one")
    if record.agent != request.agent:
        raise UsageError(f"{what}: it is a run of agent {record.agent!r}, not {request.agent!r}")
    if record.status not in RESUMABLE:
        raise UsageError(
            f"{what}: it already finished ({record.status.value}); "
            "only an interrupted or cancelled run can be resumed"
        )
    for run in await sessions.list_runs(session_id=request.session_id, limit=1000):
        if resumed_from(run.trigger) == target:
            raise UsageError(
                f"{what}: run {run.id} already resumed it",
                hint=f"resume run {run.id} instead if it was interrupted too",
            )
    chain = [record]
    seen = {record.id}
    while (earlier := resumed_from(chain[-1].trigger)) is not None and earlier not in seen:
        try:
            previous = await sessions.get_run(earlier)
        except NotFoundError:
            break
        if previous.session_id != request.session_id:
            break
        chain.append(previous)
        seen.add(earlier)
    return tuple(chain)


async def close_running(sessions: SessionLog, chain: tuple[RunRecord, ...]) -> None:
    """Mark the turn's runs still recorded as ``running`` as ``interrupted`` (their process died)."""
    for record in reversed(chain):
        if record.status is not RunStatus.RUNNING:
            continue
        try:
            await sessions.finish_run(record.id, status=RunStatus.INTERRUPTED, error=_INTERRUPTED)
        except PyClawError:  # closed meanwhile (the daemon's ``mark_interrupted``): fine
            _log.info("run %s was already closed", record.id)


async def begin_resumed(st: RunState) -> None:
    """Record what the resumed run owes before its first model call.

    A note naming the interrupted runs, a terminal event for everything they left open, and the
    user message when the crash came before it was recorded. Sets ``st.resume`` (and ``st.answer``
    when the turn had already answered).
    """
    rec = st.recorder
    await rec.sync()
    found = survey(rec.history.events, [r.id for r in st.chain])
    st.resume = found
    st.tainted = found.tainted
    payloads: list[EventPayload] = [NoteEvent(text=_note(found)), *found.closures]
    if not found.user_message:
        origin = st.request.origin
        payloads.append(
            UserMessageEvent(
                message=st.request.input, control_event_id=None if origin is None else origin.id
            )
        )
    if found.answer is not None:
        payloads.append(
            NoteEvent(text="the interrupted turn had already answered: that answer is returned")
        )
        st.answer = found.answer
    await rec.add(*payloads)


def replayed(call: ToolCall, recorded: Recorded) -> tuple[ToolResult, NoteEvent]:
    """The recorded result of an identical completed call, as the result of ``call``."""
    result = recorded.result.model_copy(update={"call_id": call.id, "name": call.name})
    note = NoteEvent(
        text=f"{call.name!r} was not run again: an identical call ({recorded.call_id}, run "
        f"{recorded.run_id}) completed before the crash; its result was served from the record"
    )
    return result, note


def _note(found: Interrupted) -> str:
    runs = ", ".join(reversed(found.runs))
    text = f"resuming after a crash: this run continues the turn of run(s) {runs}"
    closed: list[str] = []
    if found.closed_uncertain:
        closed.append(f"{found.closed_uncertain} call(s) that were running are now uncertain")
    if found.closed_not_started:
        closed.append(f"{found.closed_not_started} call(s) that had not started are cancelled")
    return f"{text}; {'; '.join(closed)}" if closed else text
