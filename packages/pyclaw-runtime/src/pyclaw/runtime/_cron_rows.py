"""The records ``CronStore`` returns: a job with its schedule state, and one firing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from pyclaw.meta import CronJob, NotFoundError

CronSource = Literal["config", "cli"]
"""Where a job was defined: a ``[[cron]]`` entry of pyclaw.toml, or ``pyclaw cron add``."""


class CronJobNotFoundError(NotFoundError):
    """No cron job has that name."""


def job_not_found(name: str) -> CronJobNotFoundError:
    return CronJobNotFoundError(f"no cron job named {name!r}", hint="see 'pyclaw cron list'")


@dataclass(frozen=True, slots=True)
class CronEntry:
    """A stored job: its definition, where it came from and when it fires next (job's zone)."""

    job: CronJob
    source: CronSource
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    created_at: datetime
    consecutive_failures: int = 0
    """Scheduled firings that failed in a row (a success resets it)."""
    retry_at: datetime | None = None
    """When ``next_fire_at`` is a backoff retry after a failure: that time (job's zone)."""
    disabled_reason: str | None = None
    """Why the job is disabled (too many failures, or ``pyclaw cron disable``)."""

    def is_due(self, now: datetime) -> bool:
        """Whether the next fire time has come (a running daemon will fire it at once)."""
        return self.job.enabled and self.next_fire_at is not None and self.next_fire_at <= now


@dataclass(frozen=True, slots=True)
class CronRun:
    """One firing of a job: by the schedule or by hand (``pyclaw cron run``)."""

    job_name: str
    scheduled_for: datetime
    trigger: Literal["schedule", "manual"]
    started_at: datetime
    finished_at: datetime | None
    status: str
    run_id: str | None
    session_id: str | None
    error: str | None
    attempt: int = 1
    """1 + the job's consecutive failures when this firing started."""
    delivery: str | None = None
    """``delivered``, ``failed`` or ``skipped``; ``None`` until the daemon delivered it."""
    delivery_error: str | None = None


def zoned(text: str | None, zone: str) -> datetime | None:
    """A stored UTC timestamp shown in ``zone`` (``None`` stays ``None``)."""
    return None if text is None else datetime.fromisoformat(text).astimezone(ZoneInfo(zone))


def entry_from_row(row: tuple[Any, ...]) -> CronEntry:
    """``(name, job, source, enabled, last_fire_at, next_fire_at, created_at,
    consecutive_failures, retry_at, disabled_reason)`` → ``CronEntry``."""
    job = CronJob.model_validate_json(row[1]).model_copy(update={"enabled": bool(row[3])})
    return CronEntry(
        job=job,
        source=cast("CronSource", row[2]),
        next_fire_at=zoned(row[5], job.timezone),
        last_fire_at=zoned(row[4], job.timezone),
        created_at=datetime.fromisoformat(row[6]),
        consecutive_failures=int(row[7]),
        retry_at=zoned(row[8], job.timezone),
        disabled_reason=row[9],
    )


def run_from_row(row: tuple[Any, ...]) -> CronRun:
    """A ``cron_runs`` row (job_name … delivery_error, as ``CronStore.runs`` selects it)."""
    return CronRun(
        job_name=str(row[0]),
        scheduled_for=datetime.fromisoformat(row[1]),
        trigger=cast("Literal['schedule', 'manual']", row[2]),
        started_at=datetime.fromisoformat(row[3]),
        finished_at=None if row[4] is None else datetime.fromisoformat(row[4]),
        status=str(row[5]),
        run_id=row[6],
        session_id=row[7],
        error=row[8],
        attempt=int(row[9]),
        delivery=row[10],
        delivery_error=row[11],
    )
