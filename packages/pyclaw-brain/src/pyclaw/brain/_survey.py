"""Reading what an interrupted turn left in the log: what it finished, what it left open.

A turn interrupted by a crash (``kill -9``, power loss) is one run, or a chain of runs when a
resume crashed too. Its events say which tool calls completed, which started and never finished
(their effect is *uncertain*), which never started, and which model requests got no response.
``survey`` turns them into the closing events the resumed run records before its first model
call, and into what the resumed run needs to never run a completed call twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    AssistantMessageEvent,
    ErrorInfo,
    EventPayload,
    LLMRequestEvent,
    LLMResponseEvent,
    Message,
    RunStartedEvent,
    SessionEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    UserMessageEvent,
    Verdict,
)

UNCERTAIN = "the process stopped while this call was running; it may or may not have taken effect"
NOT_STARTED = "not started: the process stopped before it ran"
NO_RESPONSE = "the process stopped before the model answered"
INTERRUPTED_BY = "interrupted"
"""``decided_by`` of the denial recorded for an approval left pending by the crash."""


def uncertain_result(call: ToolCall) -> ToolResult:
    """The terminal result of a call that started and whose completion was never recorded."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        status="uncertain",
        content=f"Uncertain: {UNCERTAIN}. Check its effect before repeating it.",
        error=ErrorInfo(type="Interrupted", message=UNCERTAIN),
    )


def not_started_result(call: ToolCall) -> ToolResult:
    """The terminal result of a call the model asked for that never started."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        status="cancelled",
        content=f"Not run: {NOT_STARTED}.",
        error=ErrorInfo(type="Interrupted", message=NOT_STARTED),
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """A completed call of the interrupted turn: the run and call it was, and its result."""

    run_id: str
    call_id: str
    result: ToolResult


@dataclass(slots=True)
class Interrupted:
    """What an interrupted turn left, and what resuming it must record first."""

    runs: tuple[str, ...]
    """The turn's runs, the one being resumed first."""
    user_message: bool = False
    """The turn's user message is already on record."""
    closures: list[EventPayload] = field(default_factory=list)
    """Terminal events for what the crash left open, to record before the first model call."""
    completed: dict[str, Recorded] = field(default_factory=dict)
    """The latest completed result (any status but ``uncertain``/``cancelled``/``denied``: those
    never ran, so a repeat goes through the policy again) by ``call_hash``."""
    uncertain: set[str] = field(default_factory=set)
    """``call_hash`` of calls whose effect is uncertain (and that never completed otherwise)."""
    tainted: bool = False
    """An untrusted result entered the turn (the resumed run starts tainted)."""
    answer: Message | None = None
    """The turn's final answer when it was recorded before the crash (nothing is left to do)."""
    closed_uncertain: int = 0
    closed_not_started: int = 0


@dataclass(slots=True)
class _Scan:
    calls: dict[str, ToolCall] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)
    batch_of: dict[str, int] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    results: dict[str, tuple[str, ToolResult]] = field(default_factory=dict)
    asked: dict[str, ApprovalRequestedEvent] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)
    requests: dict[str, LLMRequestEvent] = field(default_factory=dict)
    responded: set[str] = field(default_factory=set)
    last_assistant: AssistantMessageEvent | None = None
    user_message: bool = False

    def add(self, event: SessionEvent) -> None:
        p = event.payload
        if isinstance(p, UserMessageEvent):
            self.user_message = True
        elif isinstance(p, AssistantMessageEvent):
            self.last_assistant = p
            batch = [call.id for call in p.message.tool_calls]
            for call in p.message.tool_calls:
                self.calls.setdefault(call.id, call)
                self.batch_of.setdefault(call.id, len(self.batches))
            self.batches.append(batch)
        elif isinstance(p, ToolCallEvent):
            self.calls.setdefault(p.call.id, p.call)
            self.started.add(p.call.id)
        elif isinstance(p, ToolResultEvent):
            self.results[p.result.call_id] = (event.run_id or "", p.result)
        elif isinstance(p, ApprovalRequestedEvent):
            self.asked[p.request.id] = p
        elif isinstance(p, ApprovalResolvedEvent):
            self.resolved.add(p.decision.request_id)
        elif isinstance(p, LLMRequestEvent):
            self.requests[p.call_id] = p
        elif isinstance(p, LLMResponseEvent):
            self.responded.add(p.call_id)

    def executing(self, call_id: str, pending: set[str]) -> bool:
        """Whether the batch of ``call_id`` reached execution (so the call may have run).

        The brain records every call of a model reply (``tool_call``) and settles its approvals
        before it starts any of them; a batch missing a ``tool_call`` or with an approval still
        pending was stopped before execution. A call seen only as a ``tool_call`` counts as run.
        """
        index = self.batch_of.get(call_id)
        if index is None:
            return True
        batch = self.batches[index]
        return all(c in self.started and c not in pending for c in batch)


def survey(events: Sequence[SessionEvent], runs: Collection[str]) -> Interrupted:
    """What the turn made of ``runs`` (the interrupted run and those it resumed) left in ``events``."""
    scan = _Scan()
    for event in _turn_events(events, set(runs)):
        scan.add(event)
    found = Interrupted(runs=tuple(runs), user_message=scan.user_message)
    pending_requests = [r for rid, r in scan.asked.items() if rid not in scan.resolved]
    pending = {r.request.call.id for r in pending_requests}
    for request in pending_requests:
        decision = ApprovalDecision(
            request_id=request.request.id,
            call_hash=request.request.call_hash,
            verdict=Verdict.DENY,
            decided_by=INTERRUPTED_BY,
        )
        found.closures.append(ApprovalResolvedEvent(decision=decision))
    for call_id, req in scan.requests.items():
        if call_id not in scan.responded:
            error = ErrorInfo(type="Interrupted", message=NO_RESPONSE)
            found.closures.append(
                LLMResponseEvent(call_id=call_id, provider=req.provider, error=error)
            )
    for call_id, call in scan.calls.items():
        if call_id in scan.results:
            continue
        if call_id in scan.started and scan.executing(call_id, pending):
            result = uncertain_result(call)
            found.closed_uncertain += 1
        else:
            result = not_started_result(call)
            found.closed_not_started += 1
        found.closures.append(ToolResultEvent(result=result))
        scan.results[call_id] = ("", result)
    _classify(scan, found, pending)
    last = scan.last_assistant
    if last is not None and last.final and not last.message.tool_calls:
        found.answer = last.message
    return found


def _turn_events(events: Sequence[SessionEvent], runs: set[str]) -> list[SessionEvent]:
    """The events of ``runs`` in order, scanning back only as far as their ``run_started``."""
    found: list[SessionEvent] = []
    unstarted = set(runs)
    for event in reversed(events):
        if event.run_id not in runs:
            continue
        found.append(event)
        if isinstance(event.payload, RunStartedEvent):
            unstarted.discard(event.run_id)
            if not unstarted:
                break
    found.reverse()
    return found


def _classify(scan: _Scan, found: Interrupted, pending: set[str]) -> None:
    """Fill ``completed``, ``uncertain`` and ``tainted`` from every call's (final) result.

    A call ``cancelled`` while its batch was executing (a run stopped by a graceful shutdown) may
    have been cut short mid-way: for a repeat it counts as uncertain, like one a crash cut short.
    """
    uncertain: set[str] = set()
    for call_id, (run_id, result) in scan.results.items():
        call = scan.calls.get(call_id)
        found.tainted = found.tainted or result.untrusted
        if call is None:
            continue
        cut_short = (
            result.status == "cancelled"
            and call_id in scan.started
            and scan.executing(call_id, pending)
            and (result.error is None or result.error.message != NOT_STARTED)
        )
        if result.status == "uncertain" or cut_short:
            uncertain.add(call.call_hash)
        elif result.status not in ("cancelled", "denied"):  # those never ran: ask again
            found.completed[call.call_hash] = Recorded(run_id, call_id, result)
    found.uncertain = uncertain - found.completed.keys()
