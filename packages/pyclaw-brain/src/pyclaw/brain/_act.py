"""Acting on the model's tool calls: policy, approval and guard first, then the calls themselves,
several at once, with their results recorded in the order the model asked for them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pyclaw.brain._approval import ask_approval
from pyclaw.brain._calls import bad_arguments, refused, unknown_tool
from pyclaw.brain._resume import RERUN_REASON, replayed
from pyclaw.brain._state import Collaborators, RunState
from pyclaw.meta import (
    ErrorInfo,
    EventPayload,
    Guard,
    GuardActionEvent,
    GuardVetoError,
    PolicyDecisionEvent,
    RiskLevel,
    ToolCall,
    ToolCallEvent,
    ToolContext,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class _Planned:
    """A call as the model asked (``call``) and either what to execute or its settled result."""

    call: ToolCall
    execute: ToolCall | None = None
    settled: ToolResult | None = None


async def act(
    c: Collaborators, st: RunState, calls: tuple[ToolCall, ...], arg_errors: dict[str, ErrorInfo]
) -> list[tuple[ToolCall, ToolResult]]:
    """Check, run and record ``calls``; returns each call with its recorded result, in order."""
    planned: list[_Planned] = []
    for call in calls:
        st.recorder.stage(ToolCallEvent(call=call))
        planned.append(await _plan(c, st, call, arg_errors.get(call.id)))
    return await _execute(c, st, planned)


async def _plan(
    c: Collaborators, st: RunState, call: ToolCall, error: ErrorInfo | None
) -> _Planned:
    settled = _settled(st, call, error)
    if settled is not None:
        return _Planned(call, settled=settled)
    spec = st.specs[call.name]
    resume = st.resume
    rerun = (
        resume is not None
        and call.call_hash in resume.uncertain
        and spec.risk is not RiskLevel.SAFE
    )
    refusal = await _permission(c, st, call, spec, rerun=rerun)
    if refusal is not None:
        return _Planned(call, settled=refusal)
    if c.guard is None:
        return _Planned(call, execute=call)
    try:
        changed = await c.guard.before_tool(call)
    except GuardVetoError as exc:
        st.recorder.stage(GuardActionEvent(hook="before_tool", action="veto", reason=exc.message))
        return _Planned(call, settled=refused(call, exc.message, error_type="GuardVeto"))
    if changed is not call and changed != call:
        reason = f"a guard changed the call to {call.name!r} before it ran"
        st.recorder.stage(GuardActionEvent(hook="before_tool", action="transform", reason=reason))
        changed = changed.model_copy(update={"id": call.id})
    return _Planned(call, execute=changed)


def _settled(st: RunState, call: ToolCall, error: ErrorInfo | None) -> ToolResult | None:
    """The result of a call settled without asking anyone: bad arguments, an unknown tool, or an
    identical call that completed before a crash (served from the record: never run twice)."""
    if error is not None or call.raw_arguments is not None:
        assert error is not None  # reconcile() gives every call with raw_arguments an error
        return bad_arguments(call, error)
    if st.resume is not None and call.call_hash in st.resume.completed:
        result, note = replayed(call, st.resume.completed[call.call_hash])
        st.recorder.stage(note)
        return result
    if call.name not in st.specs:
        return unknown_tool(call, list(st.specs))
    return None


async def _permission(
    c: Collaborators, st: RunState, call: ToolCall, spec: ToolSpec, *, rerun: bool
) -> ToolResult | None:
    """``None`` when the call may run (no policy, allowed, or approved), else its refusal.

    ``rerun`` (a risky call identical to one a crash left uncertain) needs a human's approval
    even when the policy or a grant allows it; a policy denial still stands without asking.
    """
    reasons = [RERUN_REASON] if rerun else []
    if c.policy is not None:
        decision = await c.policy.check(call, spec, st.tool_context(c))
        st.recorder.stage(PolicyDecisionEvent(call_id=call.id, decision=decision))
        if decision.verdict is Verdict.DENY:
            return refused(call, decision.reason)
        if decision.verdict is Verdict.ASK:
            reasons.append(decision.reason)
    if not reasons:
        return None
    refusal = await ask_approval(c, st, call, "; ".join(reasons))
    if refusal is not None or c.policy is None:
        return refusal
    # The approval became a grant: check again, so the grant is what allows the call (an
    # allow-once grant is consumed here, and the decision names it on the audit trail).
    recheck = await c.policy.check(call, spec, st.tool_context(c))
    st.recorder.stage(PolicyDecisionEvent(call_id=call.id, decision=recheck))
    if recheck.verdict is not Verdict.ALLOW:
        return refused(call, f"approved, but the policy still says {recheck.verdict.value}")
    return None


async def _execute(
    c: Collaborators, st: RunState, planned: list[_Planned]
) -> list[tuple[ToolCall, ToolResult]]:
    """Run the allowed calls concurrently, recording each result as soon as those before it are.

    A tool host that raises cancels the other calls and fails the run (``TaskGroup`` semantics);
    cancellation of the run cancels every call still running.
    """
    context = st.tool_context(c)
    limit = asyncio.Semaphore(c.settings.max_parallel_tools)
    done: list[tuple[ToolCall, ToolResult]] = []
    await st.recorder.flush()  # the calls are on record before any of them starts
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                None if p.execute is None else group.create_task(_run_one(c, st, p, context, limit))
                for p in planned
            ]
            for p, task in zip(planned, tasks, strict=True):
                result, action = (p.settled, None) if task is None else await task
                assert result is not None
                payloads: list[EventPayload] = [] if action is None else [action]
                payloads.append(ToolResultEvent(result=result))
                await st.recorder.add(*payloads)
                if result.untrusted:
                    st.tainted = True
                done.append((p.call, result))
    except ExceptionGroup as failure:  # the first failure stands for the batch
        raise failure.exceptions[0] from None
    return done


async def _run_one(
    c: Collaborators, st: RunState, p: _Planned, context: ToolContext, limit: asyncio.Semaphore
) -> tuple[ToolResult, GuardActionEvent | None]:
    call = p.call
    assert p.execute is not None
    async with limit:
        try:
            result = await c.tools.execute(p.execute, context)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            st.outcomes[call.id] = ToolResult(
                call_id=call.id,
                name=call.name,
                status="error",
                content=f"The tool host failed: {message}",
                error=ErrorInfo(type=type(exc).__name__, message=message),
            )
            raise
    if result.call_id != call.id or result.name != call.name:
        result = result.model_copy(update={"call_id": call.id, "name": call.name})
    result, action = await _guarded_result(c.guard, result)
    st.outcomes[call.id] = result
    return result, action


async def _guarded_result(
    guard: Guard | None, result: ToolResult
) -> tuple[ToolResult, GuardActionEvent | None]:
    if guard is None:
        return result, None
    try:
        changed = await guard.after_tool(result)
    except GuardVetoError as exc:
        withheld = ToolResult(
            call_id=result.call_id,
            name=result.name,
            status="denied",
            content=f"The tool's output was withheld: {exc.message}",
            error=exc.to_info(hook="after_tool"),
            duration_ms=result.duration_ms,
        )
        return withheld, GuardActionEvent(hook="after_tool", action="veto", reason=exc.message)
    if changed is result or changed == result:
        return result, None
    if changed.call_id != result.call_id:
        changed = changed.model_copy(update={"call_id": result.call_id})
    reason = f"a guard changed the result of {result.name!r}"
    return changed, GuardActionEvent(hook="after_tool", action="transform", reason=reason)
