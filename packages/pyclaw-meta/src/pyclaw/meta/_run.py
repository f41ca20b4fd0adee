"""Sessions and runs as records."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field, JsonValue

from pyclaw.meta._base import Model
from pyclaw.meta._errors import ErrorInfo
from pyclaw.meta._llm import Usage


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the process died mid-run; found and closed on restart

    @property
    def terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class SessionInfo(Model):
    """A conversation: the container of an ordered, hash-chained event log."""

    id: str
    agent: str
    channel: str
    created_at: AwareDatetime
    title: str | None = None
    external_key: str | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    event_count: int = Field(default=0, ge=0)
    last_event_at: AwareDatetime | None = None


class RunRecord(Model):
    """One run of an agent (a turn, a mission, a cron firing) inside a session."""

    id: str
    session_id: str
    agent: str
    status: RunStatus
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    trigger: str | None = None
    usage: Usage = Usage()
    cost_usd: float = 0.0
    error: ErrorInfo | None = None


class ChainProblem(Model):
    seq: int
    event_id: str | None
    problem: str


class ChainReport(Model):
    """The result of verifying one session's hash chain."""

    session_id: str
    events: int
    ok: bool
    head_hash: str
    problems: tuple[ChainProblem, ...] = ()
