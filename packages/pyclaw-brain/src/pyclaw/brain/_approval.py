"""Putting a call the policy wants approved to a human, bound to that exact call."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from pyclaw.brain._calls import refused
from pyclaw.brain._state import Collaborators, RunState
from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    ToolCall,
    ToolResult,
    Verdict,
)

_log = logging.getLogger("pyclaw.brain")

NO_APPROVER = "no approval surface is connected"


async def ask_approval(
    c: Collaborators, st: RunState, call: ToolCall, why: str
) -> ToolResult | None:
    """``None`` when a human allowed this exact call, else the ``denied`` result to record.

    An answer for another request or another call (its ``call_hash`` differs) counts as a denial
    and is not passed to the policy; an approver that fails or outlives ``approval_timeout_s`` too.
    """
    if c.approver is None:
        return refused(call, f"{why}; {NO_APPROVER}")
    timeout = c.settings.approval_timeout_s
    now = c.clock()
    request = ApprovalRequest(
        session_id=st.request.session_id,
        run_id=st.request.id,
        agent=c.agent.name,
        call=call,
        reason=why,
        created_at=now,
        expires_at=now + timedelta(seconds=timeout),
    )
    await st.recorder.add(ApprovalRequestedEvent(request=request))
    try:
        async with asyncio.timeout(timeout):
            decision = await c.approver.request_approval(request)
    except TimeoutError:
        return await _denied_unanswered(st, request, "expired", "the approval request expired")
    except Exception:  # noqa: BLE001 - a failing approver must deny, not crash the run
        _log.warning("the approver failed; the call is denied", exc_info=True)
        return await _denied_unanswered(st, request, "approver-error", "the approver failed")
    st.recorder.stage(ApprovalResolvedEvent(decision=decision))
    if decision.request_id != request.id or decision.call_hash != call.call_hash:
        return refused(call, "the approval did not match this exact call, so it counts as a denial")
    if c.policy is not None:
        await c.policy.decide(request, decision)
    if decision.verdict is not Verdict.ALLOW:
        return refused(call, f"not approved (decided by {decision.decided_by})")
    return None


async def _denied_unanswered(
    st: RunState, request: ApprovalRequest, by: str, reason: str
) -> ToolResult:
    """Record a denial nobody decided (no answer in time): the policy is not told of it."""
    decision = ApprovalDecision(
        request_id=request.id, call_hash=request.call_hash, verdict=Verdict.DENY, decided_by=by
    )
    st.recorder.stage(ApprovalResolvedEvent(decision=decision))
    return refused(request.call, reason)
