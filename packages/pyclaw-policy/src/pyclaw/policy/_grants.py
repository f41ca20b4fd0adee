"""Turning a human's decision into a grant, and checking hand-made grants."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyclaw.meta import ApprovalDecision, ApprovalRequest, Grant, GrantScope, format_ts
from pyclaw.policy._config import PolicyConfig
from pyclaw.policy._errors import InvalidGrantError
from pyclaw.policy._match import decode_argument_pattern


def grant_for(
    request: ApprovalRequest,
    decision: ApprovalDecision,
    config: PolicyConfig,
    *,
    now: datetime,
    argument_pattern: str | None = None,
) -> Grant:
    """The grant an allowing decision creates.

    ``once``: this exact call (call hash) in this session, one use, usable for ``once_ttl_s``.
    ``window``: the tool for this agent in any session until ``decided_at + window_seconds``
    (default ``default_window_s``, capped at ``max_window_s``). ``session``: the tool for the rest
    of this session. ``forever``: the tool for this agent until revoked.
    """
    scope = decision.scope
    session_id: str | None = None
    call_hash: str | None = None
    expires_at: datetime | None = None
    if scope is GrantScope.ONCE:
        session_id = request.session_id
        call_hash = request.call_hash
        expires_at = decision.decided_at + timedelta(seconds=config.once_ttl_s)
    elif scope is GrantScope.WINDOW:
        seconds = min(decision.window_seconds or config.default_window_s, config.max_window_s)
        expires_at = decision.decided_at + timedelta(seconds=seconds)
    elif scope is GrantScope.SESSION:
        session_id = request.session_id
    grant = Grant(
        agent=request.agent,
        tool=request.call.name,
        scope=scope,
        session_id=session_id,
        argument_pattern=argument_pattern if scope is not GrantScope.ONCE else None,
        call_hash=call_hash,
        created_at=now,
        expires_at=expires_at,
    )
    validate_grant(grant)
    return grant


def validate_grant(grant: Grant) -> None:
    """Refuse a grant that could never be matched as its scope means, or a bad argument pattern."""
    if grant.scope is GrantScope.SESSION and grant.session_id is None:
        raise InvalidGrantError(f"grant {grant.id}: a session grant needs a session_id")
    if grant.scope is GrantScope.ONCE and grant.call_hash is None:
        raise InvalidGrantError(f"grant {grant.id}: an allow-once grant needs a call_hash")
    if grant.scope is GrantScope.WINDOW and grant.expires_at is None:
        raise InvalidGrantError(f"grant {grant.id}: a window grant needs an expires_at")
    if grant.argument_pattern is not None:
        try:
            decode_argument_pattern(grant.argument_pattern)
        except ValueError as exc:
            raise InvalidGrantError(f"grant {grant.id}: {exc}") from None


def describe_grant(grant: Grant) -> str:
    """``window grant grt_… until 2026-…``: how decisions cite a grant."""
    until = "" if grant.expires_at is None else f" until {format_ts(grant.expires_at)}"
    what = {
        GrantScope.ONCE: "allow-once grant",
        GrantScope.WINDOW: "window grant",
        GrantScope.SESSION: "session grant",
        GrantScope.FOREVER: "grant until revoked",
    }[grant.scope]
    narrowed = "" if grant.argument_pattern is None else f" for arguments {grant.argument_pattern}"
    return f"{what} {grant.id}{narrowed}{until}"
