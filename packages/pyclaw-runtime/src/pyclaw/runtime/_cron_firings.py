"""The firing half of ``CronStore``: what is due, exactly-once claims, outcomes and history.

The scheduler loop (``CronScheduler``) does, on each tick::

    for due in store.due_jobs(now):                  # jobs whose next fire time has come
        if store.claim(due.job.name, due.scheduled_for, now=now):
            ...run it (run_cron_job: store.finish), deliver it (store.record_delivery)
    sleep until store.next_wakeup() (or a short maximum)

``claim`` inserts the firing into ``cron_runs`` (``UNIQUE (job_name, scheduled_for)``) and moves
the job's next fire time past ``now`` in one transaction: a firing runs once, even with two
schedulers on one database or after a crash. Misfires coalesce: after downtime a job that missed
fire times is due once (``scheduled_for`` = the first missed time) and then continues from the
next time after ``now``. ``finish`` applies the failure policy (``_cron_failures``): a failed
firing may set ``next_fire_at`` to a backoff retry, or disable the job. The methods block: async
code calls them through ``await db.run(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from pyclaw.meta import CronJob, format_ts
from pyclaw.runtime._cron import next_fire
from pyclaw.runtime._cron_failures import CronFailurePolicy, record_outcome
from pyclaw.runtime._cron_rows import CronRun, entry_from_row, job_not_found, run_from_row
from pyclaw.storage import Database

RunStatusText = Literal["succeeded", "failed", "cancelled", "interrupted"]
DeliveryStatus = Literal["delivered", "failed", "skipped"]
ENTRY_SELECT = (
    "SELECT name, job, source, enabled, last_fire_at, next_fire_at, created_at, "
    "consecutive_failures, retry_at, disabled_reason FROM cron_jobs"
)


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job whose fire time has come: ``scheduled_for`` is its first fire time not yet run."""

    job: CronJob
    scheduled_for: datetime
    late_by: timedelta


class CronFirings:
    """Due jobs, claims, outcomes and run history over ``cron_jobs`` and ``cron_runs``."""

    db: Database
    clock: Callable[[], datetime]
    policy: CronFailurePolicy

    def due_jobs(self, now: datetime | None = None) -> list[DueJob]:
        """Enabled jobs whose next fire time is at or before ``now``, earliest first."""
        moment = now or self.clock()
        with self.db.locked() as conn:
            rows = conn.execute(
                f"{ENTRY_SELECT} WHERE enabled = 1 AND next_fire_at <= ? "
                "ORDER BY next_fire_at, name",
                (format_ts(moment),),
            ).fetchall()
        due: list[DueJob] = []
        for row in rows:
            entry = entry_from_row(row)
            when = cast("datetime", entry.next_fire_at)
            due.append(DueJob(entry.job, when, moment - when))
        return due

    def next_wakeup(self, exclude: Collection[str] = ()) -> datetime | None:
        """The earliest next fire time of any enabled job (UTC) not named in ``exclude`` (jobs
        already running), or ``None`` with no such job."""
        names = tuple(exclude)
        others = f" AND name NOT IN ({', '.join('?' * len(names))})" if names else ""
        with self.db.locked() as conn:
            row = conn.execute(
                f"SELECT min(next_fire_at) FROM cron_jobs WHERE enabled = 1{others}", names
            ).fetchone()
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])

    def claim(self, name: str, scheduled_for: datetime, *, now: datetime | None = None) -> bool:
        """Claim the firing of job ``name`` at ``scheduled_for``: ``True`` for exactly one caller.

        Claiming the job's current next fire time records the firing as ``running`` and moves
        the next fire time to the first one after ``now`` (missed ones coalesce into this one).
        """
        moment = now or self.clock()
        slot = format_ts(scheduled_for)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT job, next_fire_at, consecutive_failures FROM cron_jobs "
                "WHERE name = ? AND enabled = 1",
                (name,),
            ).fetchone()
            if row is None or row[1] != slot:
                return False
            claimed = (
                conn.execute(
                    "INSERT OR IGNORE INTO cron_runs "
                    "(job_name, scheduled_for, trigger, started_at, status, attempt) "
                    "VALUES (?, ?, 'schedule', ?, 'running', ?)",
                    (name, slot, format_ts(moment), int(row[2]) + 1),
                ).rowcount
                == 1
            )
            job = CronJob.model_validate_json(row[0])
            upcoming = next_fire(job, max(moment, scheduled_for))
            conn.execute(
                "UPDATE cron_jobs SET last_fire_at = ?, next_fire_at = ?, retry_at = NULL, "
                "updated_at = ? WHERE name = ?",
                (slot, format_ts(upcoming), format_ts(moment), name),
            )
        return claimed

    def start_manual(self, name: str, *, now: datetime | None = None) -> datetime:
        """Record a run of ``name`` started by hand (``pyclaw cron run``); its key time."""
        moment = now or self.clock()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM cron_jobs WHERE name = ?", (name,)).fetchone() is None:
                raise job_not_found(name)
            conn.execute(
                "INSERT INTO cron_runs (job_name, scheduled_for, trigger, started_at, status) "
                "VALUES (?, ?, 'manual', ?, 'running')",
                (name, format_ts(moment), format_ts(moment)),
            )
        return moment

    def finish(
        self,
        name: str,
        scheduled_for: datetime,
        *,
        status: RunStatusText,
        run_id: str | None = None,
        session_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Close a claimed (or manual) firing with the run's outcome; a scheduled firing that
        succeeded or failed updates the job's failure count, retry and enabled state (see
        ``_cron_failures``). A firing already closed is left alone: ``False``."""
        now = self.clock()
        slot = format_ts(scheduled_for)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT trigger FROM cron_runs "
                "WHERE job_name = ? AND scheduled_for = ? AND status = 'running'",
                (name, slot),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE cron_runs SET status = ?, finished_at = ?, run_id = ?, session_id = ?, "
                "error = ? WHERE job_name = ? AND scheduled_for = ?",
                (status, format_ts(now), run_id, session_id, error, name, slot),
            )
            if row[0] == "schedule" and status in ("succeeded", "failed"):
                failed = status == "failed"
                record_outcome(conn, name, failed=failed, error=error, now=now, policy=self.policy)
        return True

    def record_delivery(
        self, name: str, scheduled_for: datetime, status: DeliveryStatus, error: str | None = None
    ) -> None:
        """Record how the outcome of a firing was delivered (a failed delivery is not a failed
        firing: it does not count towards disabling the job)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE cron_runs SET delivery = ?, delivery_error = ? "
                "WHERE job_name = ? AND scheduled_for = ?",
                (status, error, name, format_ts(scheduled_for)),
            )

    def runs(self, name: str | None = None, *, limit: int = 50) -> list[CronRun]:
        """Recorded firings, most recently started first."""
        where, args = ("WHERE job_name = ?", (name,)) if name is not None else ("", ())
        with self.db.locked() as conn:
            rows = conn.execute(
                "SELECT job_name, scheduled_for, trigger, started_at, finished_at, status, run_id, "
                "session_id, error, attempt, delivery, delivery_error "
                f"FROM cron_runs {where} ORDER BY started_at DESC, id DESC "
                "LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [run_from_row(row) for row in rows]

    def mark_interrupted(self) -> int:
        """Close firings left ``running`` by a process that died (call when the daemon starts);
        they are not run again. Returns how many there were."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE cron_runs SET status = 'interrupted', finished_at = ? "
                "WHERE status = 'running'",
                (format_ts(self.clock()),),
            ).rowcount
