"""Policy verdicts, grants and approvals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from pyclaw.meta._base import Model, new_id, utcnow
from pyclaw.meta._tools import ToolCall


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ASK = "ask"


class GrantScope(StrEnum):
    """How long an approval lasts."""

    ONCE = "once"  # this exact call only
    WINDOW = "window"  # until ``expires_at``
    SESSION = "session"  # for the rest of this session
    FOREVER = "forever"  # until revoked


class PolicyDecision(Model):
    """The policy engine's answer for one tool call, with the reason a human can read."""

    verdict: Verdict
    reason: str
    tool: str
    call_hash: str | None = None
    rule: str | None = None
    grant_id: str | None = None
    expires_at: AwareDatetime | None = None


class Grant(Model):
    """A persisted permission. ``call_hash`` set means it covers one exact call."""

    id: str = Field(default_factory=lambda: new_id("grt"))
    agent: str
    tool: str
    scope: GrantScope
    session_id: str | None = None
    argument_pattern: str | None = None
    call_hash: str | None = None
    created_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime | None = None
    revoked_at: AwareDatetime | None = None

    def active(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


class ApprovalRequest(Model):
    """A question put to a human: may this exact call run?"""

    id: str = Field(default_factory=lambda: new_id("apr"))
    session_id: str
    run_id: str | None = None
    agent: str
    call: ToolCall
    reason: str
    created_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime | None = None

    @property
    def call_hash(self) -> str:
        return self.call.call_hash


class ApprovalDecision(Model):
    """A human's answer to an ``ApprovalRequest``."""

    request_id: str
    call_hash: str
    verdict: Verdict
    scope: GrantScope = GrantScope.ONCE
    window_seconds: float | None = Field(default=None, gt=0)
    decided_by: str
    decided_at: AwareDatetime = Field(default_factory=utcnow)
