"""Recording a human's decision: binding checks, the approvals row, and the grant it creates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyclaw.meta import ApprovalDecision, ApprovalRequest, Grant, Verdict, format_ts
from pyclaw.policy import _rows
from pyclaw.policy._config import PolicyConfig
from pyclaw.policy._errors import ApprovalError, ApprovalMismatchError, ApprovalStateError
from pyclaw.policy._grants import grant_for
from pyclaw.storage import Database


@dataclass(frozen=True, slots=True)
class Change:
    """The grants counter before and after one of our own write transactions."""

    before: int
    after: int


def check_binding(request: ApprovalRequest, decision: ApprovalDecision) -> None:
    """Raise unless ``decision`` answers exactly ``request`` (same id, same call hash)."""
    if decision.request_id != request.id:
        raise ApprovalMismatchError(
            f"the decision answers request {decision.request_id}, not {request.id}"
        )
    if decision.call_hash != request.call_hash:
        raise ApprovalMismatchError(
            f"the decision was made for a different call than request {request.id} "
            f"({request.call.name}): call hash mismatch"
        )
    if decision.verdict is Verdict.ASK:
        raise ApprovalError(f"a decision on request {request.id} must allow or deny, not ask")


def status_for(decision: ApprovalDecision) -> _rows.ApprovalStatus:
    if decision.verdict is Verdict.ALLOW:
        return "approved"
    return "expired" if decision.decided_by == "timeout" else "denied"


def expired(request: ApprovalRequest, at: datetime) -> bool:
    return request.expires_at is not None and at >= request.expires_at


def record_decision(
    db: Database,
    config: PolicyConfig,
    request: ApprovalRequest,
    decision: ApprovalDecision,
    *,
    now: datetime,
    argument_pattern: str | None,
) -> tuple[Grant | None, Change]:
    """Apply ``decision`` in one transaction (runs on the database worker)."""
    check_binding(request, decision)
    with db.transaction() as conn:
        before = _rows.grants_version(conn)
        row = _rows.get_approval(conn, request.id)
        if row is None:
            stored = request
            _rows.insert_approval(conn, request, status_for(decision), decision)
        else:
            stored = row.request
            if stored.call_hash != request.call_hash:
                raise ApprovalMismatchError(
                    f"request {request.id} was stored for a different call than the one given"
                )
            if row.applied:
                raise ApprovalStateError(f"approval request {request.id} was already decided")
            if row.status == "pending":
                if decision.verdict is Verdict.ALLOW and expired(stored, decision.decided_at):
                    raise _expired_error(stored)
                _rows.settle_approval(conn, request.id, status_for(decision), decision)
            elif row.decision != decision:
                raise ApprovalStateError(
                    f"approval request {request.id} was already {row.status}; "
                    "this different answer is refused"
                )
        grant: Grant | None = None
        if decision.verdict is Verdict.ALLOW:
            if expired(stored, decision.decided_at):
                raise _expired_error(stored)
            grant = grant_for(stored, decision, config, now=now, argument_pattern=argument_pattern)
            _rows.insert_grant(conn, grant, request_id=request.id)
        _rows.mark_applied(conn, request.id, None if grant is None else grant.id, now)
        return grant, Change(before, _rows.grants_version(conn))


def _expired_error(request: ApprovalRequest) -> ApprovalStateError:
    assert request.expires_at is not None
    return ApprovalStateError(
        f"approval request {request.id} expired at {format_ts(request.expires_at)} "
        "before it was approved",
        hint="the agent must ask again",
    )
