"""SQL for grants and approvals: rows to models and back. Synchronous; run on the DB worker."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    Grant,
    GrantScope,
    ToolCall,
    format_ts,
)

ApprovalStatus = Literal["pending", "approved", "denied", "expired"]

_GRANT_COLUMNS = (
    "id, agent, tool, scope, session_id, argument_pattern, call_hash, created_at, expires_at, "
    "revoked_at"
)
_APPROVAL_COLUMNS = (
    "id, session_id, run_id, agent, call, reason, created_at, expires_at, status, decision, "
    "grant_id, applied_at"
)


def ts(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def _parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _grant(row: tuple[Any, ...]) -> Grant:
    gid, agent, tool, scope, session_id, pattern, call_hash, created, expires, revoked = row
    return Grant(
        id=str(gid),
        agent=str(agent),
        tool=str(tool),
        scope=GrantScope(scope),
        session_id=session_id,
        argument_pattern=pattern,
        call_hash=call_hash,
        created_at=datetime.fromisoformat(created),
        expires_at=_parse_ts(expires),
        revoked_at=_parse_ts(revoked),
    )


def grants_version(conn: sqlite3.Connection) -> int:
    """The grants change counter (bumped by triggers on every insert, update and delete)."""
    row = conn.execute("SELECT grants_version FROM policy_state WHERE id = 1").fetchone()
    return int(row[0])


def insert_grant(conn: sqlite3.Connection, grant: Grant, request_id: str | None = None) -> None:
    conn.execute(
        "INSERT INTO grants (id, agent, tool, scope, session_id, argument_pattern, call_hash, "
        "request_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            grant.id,
            grant.agent,
            grant.tool,
            grant.scope.value,
            grant.session_id,
            grant.argument_pattern,
            grant.call_hash,
            request_id,
            format_ts(grant.created_at),
            ts(grant.expires_at),
            ts(grant.revoked_at),
        ),
    )


def get_grant(conn: sqlite3.Connection, grant_id: str) -> Grant | None:
    row = conn.execute(f"SELECT {_GRANT_COLUMNS} FROM grants WHERE id = ?", (grant_id,)).fetchone()
    return None if row is None else _grant(row)


def list_grants(conn: sqlite3.Connection) -> list[Grant]:
    """Every grant, oldest first."""
    rows = conn.execute(f"SELECT {_GRANT_COLUMNS} FROM grants ORDER BY created_at, id").fetchall()
    return [_grant(row) for row in rows]


def load_live_grants(conn: sqlite3.Connection, now: datetime) -> tuple[int, list[Grant]]:
    """The counter, then every grant neither revoked nor expired at ``now``.

    The counter is read first: rows read afterwards are at least that new, so a change made in
    between only causes one more re-load, never a missed one.
    """
    version = grants_version(conn)
    rows = conn.execute(
        f"SELECT {_GRANT_COLUMNS} FROM grants WHERE revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > ?)",
        (format_ts(now),),
    ).fetchall()
    return version, [_grant(row) for row in rows]


def revoke_grant(conn: sqlite3.Connection, grant_id: str, now: datetime, *, used: bool) -> bool:
    """Mark a live grant revoked (and used, for a consumed allow-once); False if it was not live."""
    cursor = conn.execute(
        "UPDATE grants SET revoked_at = ?, used_at = CASE WHEN ? THEN ? ELSE used_at END "
        "WHERE id = ? AND revoked_at IS NULL",
        (format_ts(now), used, format_ts(now), grant_id),
    )
    return cursor.rowcount == 1


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    """A stored approval request with where it stands."""

    request: ApprovalRequest
    status: ApprovalStatus
    decision: ApprovalDecision | None
    grant_id: str | None
    applied: bool


def _approval(row: tuple[Any, ...]) -> ApprovalRow:
    rid, session_id, run_id, agent, call, reason, created, expires, status, decision = row[:10]
    grant_id, applied_at = row[10:]
    request = ApprovalRequest(
        id=str(rid),
        session_id=str(session_id),
        run_id=run_id,
        agent=str(agent),
        call=ToolCall.model_validate_json(call),
        reason=str(reason),
        created_at=datetime.fromisoformat(created),
        expires_at=_parse_ts(expires),
    )
    return ApprovalRow(
        request=request,
        status=_status(str(status)),
        decision=None if decision is None else ApprovalDecision.model_validate_json(decision),
        grant_id=grant_id,
        applied=applied_at is not None,
    )


def _status(text: str) -> ApprovalStatus:
    if text == "approved":
        return "approved"
    if text == "denied":
        return "denied"
    if text == "expired":
        return "expired"
    return "pending"


def insert_approval(
    conn: sqlite3.Connection,
    request: ApprovalRequest,
    status: ApprovalStatus = "pending",
    decision: ApprovalDecision | None = None,
) -> None:
    conn.execute(
        "INSERT INTO approvals (id, session_id, run_id, agent, call, call_hash, reason, status, "
        "created_at, expires_at, decision, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request.id,
            request.session_id,
            request.run_id,
            request.agent,
            request.call.model_dump_json(),
            request.call_hash,
            request.reason,
            status,
            format_ts(request.created_at),
            ts(request.expires_at),
            None if decision is None else decision.model_dump_json(),
            None if decision is None else format_ts(decision.decided_at),
        ),
    )


def get_approval(conn: sqlite3.Connection, request_id: str) -> ApprovalRow | None:
    row = conn.execute(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE id = ?", (request_id,)
    ).fetchone()
    return None if row is None else _approval(row)


def list_approvals(conn: sqlite3.Connection, status: ApprovalStatus | None) -> list[ApprovalRow]:
    """Approvals (with ``status``, or all), oldest first."""
    where, params = ("", ()) if status is None else (" WHERE status = ?", (status,))
    rows = conn.execute(
        f"SELECT {_APPROVAL_COLUMNS} FROM approvals{where} ORDER BY created_at, id", params
    ).fetchall()
    return [_approval(row) for row in rows]


def settle_approval(
    conn: sqlite3.Connection, request_id: str, status: ApprovalStatus, decision: ApprovalDecision
) -> bool:
    """Record the answer to a pending request; False when it was no longer pending."""
    cursor = conn.execute(
        "UPDATE approvals SET status = ?, decision = ?, decided_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (status, decision.model_dump_json(), format_ts(decision.decided_at), request_id),
    )
    return cursor.rowcount == 1


def mark_applied(
    conn: sqlite3.Connection, request_id: str, grant_id: str | None, now: datetime
) -> bool:
    """Record that the policy engine applied the decision; False when it already had."""
    cursor = conn.execute(
        "UPDATE approvals SET grant_id = ?, applied_at = ? WHERE id = ? AND applied_at IS NULL",
        (grant_id, format_ts(now), request_id),
    )
    return cursor.rowcount == 1
