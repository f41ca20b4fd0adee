"""``CronReport``: how one firing of a cron job ended, in the form delivery needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import JsonValue

from pyclaw.meta import CronJob, RunResult, RunStatus, format_ts
from pyclaw.runtime._cron_failures import one_line
from pyclaw.runtime._cron_firings import RunStatusText

if TYPE_CHECKING:
    from pyclaw.runtime._cron_run import CronRunOutcome


def status_text(result: RunResult) -> RunStatusText:
    """The ``cron_runs.status`` of a finished agent run."""
    match result.status:
        case RunStatus.SUCCEEDED:
            return "succeeded"
        case RunStatus.CANCELLED:
            return "cancelled"
        case RunStatus.INTERRUPTED:
            return "interrupted"
        case _:
            return "failed"


def idempotency_key(job_name: str, scheduled_for: datetime) -> str:
    """``cron:<job>:<scheduled_for>``: the same for every delivery attempt of one firing."""
    return f"cron:{job_name}:{format_ts(scheduled_for)}"


@dataclass(frozen=True, slots=True)
class CronReport:
    """One finished firing: its job, key time, status and answer, and the job's failure state
    right after it (``disabled_reason`` is set when this failure disabled the job)."""

    job: CronJob
    scheduled_for: datetime
    status: RunStatusText
    answer: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    error: str | None = None
    consecutive_failures: int = 0
    disabled_reason: str | None = None

    @classmethod
    def from_outcome(cls, outcome: CronRunOutcome) -> CronReport:
        """The report of a firing that ran (successfully or not) as an agent turn."""
        result = outcome.result
        return cls(
            job=outcome.job,
            scheduled_for=outcome.scheduled_for,
            status=status_text(result),
            answer=result.answer.text if result.answer is not None else None,
            session_id=outcome.session.id,
            run_id=result.run_id,
            error=result.error.message if result.error is not None else None,
        )

    @classmethod
    def from_error(cls, job: CronJob, scheduled_for: datetime, exc: Exception) -> CronReport:
        """The report of a firing that raised before its run finished."""
        return cls(job, scheduled_for, "failed", error=one_line(str(exc) or type(exc).__name__))

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.job.name, self.scheduled_for)

    def payload(self) -> dict[str, JsonValue]:
        """The JSON body a webhook receives."""
        return {
            "job": self.job.name,
            "scheduled_for": self.scheduled_for.isoformat(),
            "status": self.status,
            "answer": self.answer,
            "session_id": self.session_id,
            "run_id": self.run_id,
            "error": self.error,
            "consecutive_failures": self.consecutive_failures,
            "disabled": self.disabled_reason is not None,
            "disabled_reason": self.disabled_reason,
        }

    def announcement(self) -> str | None:
        """The chat message for ``deliver = "announce"``: the answer on success; on failure a
        one-line notice for the first failure in a row and for the one that disabled the job
        (not for every retry in between); ``None`` when there is nothing to say."""
        name = self.job.name
        if self.status == "succeeded":
            text = (self.answer or "").strip()
            return text or f"Cron job {name!r} finished without an answer."
        if self.status != "failed":
            return None
        notice = f"Cron job {name!r} failed: {one_line(self.error)}"
        if self.disabled_reason is not None:
            return (
                f"{notice}\nIt is now disabled after {self.consecutive_failures} failures in a "
                f"row; 'pyclaw cron enable {name}' turns it back on."
            )
        return notice if self.consecutive_failures <= 1 else None
