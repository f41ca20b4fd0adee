"""Recording decisions: binding to the exact request and call, settled and expired requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GrantScope,
    RiskLevel,
    ToolCall,
    ToolContext,
    ToolSpec,
    Verdict,
)
from pyclaw.policy import (
    ApprovalError,
    ApprovalMismatchError,
    ApprovalStateError,
    SQLitePolicyEngine,
)
from pyclaw.storage import Database

MakeEngine = Callable[..., SQLitePolicyEngine]
EXEC = ToolSpec(name="exec", description="run", risk=RiskLevel.RISKY)
CTX = ToolContext(session_id="ses_a", agent="main", run_id="run_1")


async def ask(engine: SQLitePolicyEngine, command: str) -> ApprovalRequest:
    call = ToolCall(name="exec", arguments={"command": command})
    decision = await engine.check(call, EXEC, CTX)
    assert decision.verdict is Verdict.ASK
    return engine.make_request(call, CTX, decision)


def answer(
    request: ApprovalRequest, verdict: Verdict = Verdict.ALLOW, **changes: object
) -> ApprovalDecision:
    data: dict[str, object] = {
        "request_id": request.id,
        "call_hash": request.call_hash,
        "verdict": verdict,
        "scope": GrantScope.SESSION,
        "decided_by": "alice",
        "decided_at": request.created_at,
    }
    return ApprovalDecision.model_validate({**data, **changes})


def approval_row(db: Database, request_id: str) -> dict[str, object]:
    with db.locked() as conn:
        cursor = conn.execute("SELECT * FROM approvals WHERE id = ?", (request_id,))
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


async def test_make_request_carries_the_reason_and_deadline(make_engine: MakeEngine) -> None:
    engine = make_engine(approval_timeout_s=90)
    request = await ask(engine, "ls")
    assert request.created_at == engine.clock()
    assert request.expires_at == engine.clock() + timedelta(seconds=90)
    assert (request.session_id, request.agent, request.run_id) == ("ses_a", "main", "run_1")
    assert "default for risky tools is ask" in request.reason


async def test_decision_for_another_request_is_refused(make_engine: MakeEngine) -> None:
    engine = make_engine()
    first, second = await ask(engine, "ls"), await ask(engine, "ls")
    with pytest.raises(ApprovalMismatchError, match=f"answers request {second.id}, not {first.id}"):
        await engine.decide(first, answer(second))
    assert await engine.list_grants(include_inactive=True) == []


async def test_decision_for_another_call_is_refused(make_engine: MakeEngine) -> None:
    engine = make_engine()
    safe, risky = await ask(engine, "ls"), await ask(engine, "rm -rf /")
    forged = answer(risky, call_hash=safe.call_hash)  # approving "ls" must not approve "rm"
    with pytest.raises(ApprovalMismatchError, match="call hash mismatch"):
        await engine.decide(risky, forged)
    assert await engine.list_grants(include_inactive=True) == []


async def test_request_stored_for_another_call_is_refused(make_engine: MakeEngine) -> None:
    engine = make_engine()
    request = await ask(engine, "ls")
    await engine.decide(request, answer(request, Verdict.DENY))
    swapped = request.model_copy(update={"call": ToolCall(name="exec", arguments={"command": "x"})})
    with pytest.raises(ApprovalMismatchError, match="stored for a different call"):
        await engine.decide(swapped, answer(swapped))


async def test_a_request_is_decided_once(make_engine: MakeEngine, db: Database) -> None:
    engine = make_engine()
    request = await ask(engine, "ls")
    grant = await engine.decide(request, answer(request))
    assert grant is not None
    row = approval_row(db, request.id)
    assert (row["status"], row["grant_id"]) == ("approved", grant.id)
    assert row["applied_at"] is not None
    assert json.loads(str(row["decision"]))["decided_by"] == "alice"
    with pytest.raises(ApprovalStateError, match="already decided"):
        await engine.decide(request, answer(request, scope=GrantScope.FOREVER))
    assert len(await engine.list_grants(include_inactive=True)) == 1


async def test_deny_is_recorded(make_engine: MakeEngine, db: Database) -> None:
    engine = make_engine()
    request = await ask(engine, "ls")
    assert await engine.decide(request, answer(request, Verdict.DENY)) is None
    row = approval_row(db, request.id)
    assert (row["status"], row["grant_id"]) == ("denied", None)


async def test_approval_after_expiry_is_refused(make_engine: MakeEngine) -> None:
    engine = make_engine(approval_timeout_s=60)
    request = await ask(engine, "ls")
    assert request.expires_at is not None
    late = answer(request, decided_at=request.expires_at)
    with pytest.raises(ApprovalStateError, match=r"expired at .* before it was approved"):
        await engine.decide(request, late)
    assert await engine.list_grants(include_inactive=True) == []
    just_in_time = answer(request, decided_at=request.expires_at - timedelta(microseconds=1))
    assert await engine.decide(request, just_in_time) is not None


async def test_ask_is_not_an_answer(make_engine: MakeEngine) -> None:
    engine = make_engine()
    request = await ask(engine, "ls")
    with pytest.raises(ApprovalError, match="must allow or deny"):
        await engine.decide(request, answer(request, Verdict.ASK))
