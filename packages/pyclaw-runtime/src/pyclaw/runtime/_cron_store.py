"""``CronStore``: scheduled jobs in the home's SQLite database, what is due, and exactly-once claims.

The scheduler loop (the daemon) does, on each tick::

    for due in store.due_jobs(now):                  # jobs whose next fire time has come
        if store.claim(due.job.name, due.scheduled_for, now=now):
            ...run it (run_cron_job), then store.finish(...)
    sleep until store.next_wakeup() (or a short maximum)

``claim`` inserts the firing into ``cron_runs`` (``UNIQUE (job_name, scheduled_for)``) and moves
the job's next fire time past ``now`` in one transaction: a firing runs once, even with two
schedulers on one database or after a crash. Misfires coalesce: after downtime a job that missed
fire times is due once (``scheduled_for`` = the first missed time) and then continues from the
next time after ``now``. The methods block: async code calls them through ``await db.run(...)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from pyclaw.meta import ConfigError, CronJob, NotFoundError, UsageError, format_ts, utcnow
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._cron import next_fire
from pyclaw.runtime._cron_rows import CronEntry, CronRun, CronSource, entry_from_row, run_from_row
from pyclaw.runtime._cron_schema import CRON_MIGRATIONS
from pyclaw.runtime._schedule import check_timezone
from pyclaw.storage import Database

RunStatusText = Literal["succeeded", "failed", "cancelled", "interrupted"]
_ENTRY_SELECT = (
    "SELECT name, job, source, enabled, last_fire_at, next_fire_at, created_at FROM cron_jobs"
)
_TRIGGER_KEYS = ("schedule", "every_seconds", "timezone")


class CronJobNotFoundError(NotFoundError):
    """No cron job has that name."""


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job whose fire time has come: ``scheduled_for`` is its first fire time not yet run."""

    job: CronJob
    scheduled_for: datetime
    late_by: timedelta


@dataclass(frozen=True, slots=True)
class CronSyncReport:
    """What ``sync_config_jobs`` changed; ``shadowed`` are ``[[cron]]`` names already taken by a
    job added with ``pyclaw cron add`` (that job is kept, the config entry ignored)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    shadowed: tuple[str, ...] = ()


def checked_next_fire(job: CronJob, after: datetime) -> datetime:
    """``next_fire`` with the job's time zone and schedule checked: ``ValueError`` (one line)."""
    check_timezone(job.timezone)
    return next_fire(job, after)


class CronStore:
    """Cron jobs (``[[cron]]`` entries and ``pyclaw cron add`` ones) and their firings."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        db.ensure(CRON_MIGRATIONS)
        self.db = db
        self.clock = clock

    # -- jobs ------------------------------------------------------------------------------------

    def add(self, job: CronJob, *, source: CronSource = "cli") -> CronEntry:
        """Add ``job``; ``UsageError`` when the name is taken or the schedule/time zone is bad."""
        now = self.clock()
        try:
            upcoming = checked_next_fire(job, now)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            with self.db.transaction() as conn:
                _insert(conn, job, source, upcoming, now)
        except sqlite3.IntegrityError:
            raise UsageError(
                f"a cron job named {job.name!r} already exists",
                hint=f"pick another name or 'pyclaw cron rm {job.name}' first",
            ) from None
        return self.get(job.name)

    def get(self, name: str) -> CronEntry:
        with self.db.locked() as conn:
            row = conn.execute(f"{_ENTRY_SELECT} WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise CronJobNotFoundError(f"no cron job named {name!r}", hint="see 'pyclaw cron list'")
        return entry_from_row(row)

    def list_jobs(self) -> list[CronEntry]:
        """Every job, by name."""
        with self.db.locked() as conn:
            rows = conn.execute(f"{_ENTRY_SELECT} ORDER BY name").fetchall()
        return [entry_from_row(row) for row in rows]

    def remove(self, name: str) -> CronEntry:
        """Remove a job added with ``pyclaw cron add`` (its run history stays)."""
        entry = self.get(name)
        if entry.source == "config":
            raise UsageError(
                f"cron job {name!r} is defined in pyclaw.toml",
                hint="remove its [[cron]] entry from pyclaw.toml instead",
            )
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM cron_jobs WHERE name = ? AND source = 'cli'", (name,))
        return entry

    def sync_config_jobs(self, config: PyClawConfig | Sequence[CronJob]) -> CronSyncReport:
        """Make the ``config`` jobs match ``[[cron]]``: add new ones, update changed ones (a new
        schedule restarts from now; other changes keep the next fire time), remove dropped ones."""
        jobs = config.cron_jobs() if isinstance(config, PyClawConfig) else list(config)
        now = self.clock()
        added: list[str] = []
        updated: list[str] = []
        shadowed: list[str] = []
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT name, job, source FROM cron_jobs").fetchall()
            stored = {str(r[0]): (CronJob.model_validate_json(r[1]), str(r[2])) for r in rows}
            for job in jobs:
                old, source = stored.pop(job.name, (None, "config"))
                if source == "cli":
                    shadowed.append(job.name)
                elif old is None:
                    fresh = job.model_copy(update={"created_at": now})
                    _insert(conn, fresh, "config", _config_next(fresh, now), now)
                    added.append(job.name)
                elif _changed(old, job):
                    _update_config_job(conn, old, job, now)
                    updated.append(job.name)
            removed = [name for name, (_, source) in stored.items() if source == "config"]
            conn.executemany("DELETE FROM cron_jobs WHERE name = ?", [(n,) for n in removed])
        return CronSyncReport(tuple(added), tuple(updated), tuple(removed), tuple(shadowed))

    # -- firing ----------------------------------------------------------------------------------

    def due_jobs(self, now: datetime | None = None) -> list[DueJob]:
        """Enabled jobs whose next fire time is at or before ``now``, earliest first."""
        moment = now or self.clock()
        with self.db.locked() as conn:
            rows = conn.execute(
                f"{_ENTRY_SELECT} WHERE enabled = 1 AND next_fire_at <= ? "
                "ORDER BY next_fire_at, name",
                (format_ts(moment),),
            ).fetchall()
        due: list[DueJob] = []
        for row in rows:
            entry = entry_from_row(row)
            when = cast("datetime", entry.next_fire_at)
            due.append(DueJob(entry.job, when, moment - when))
        return due

    def next_wakeup(self) -> datetime | None:
        """The earliest next fire time of any enabled job (UTC), or ``None`` with no jobs."""
        with self.db.locked() as conn:
            row = conn.execute(
                "SELECT min(next_fire_at) FROM cron_jobs WHERE enabled = 1"
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
                "SELECT job, next_fire_at FROM cron_jobs WHERE name = ? AND enabled = 1", (name,)
            ).fetchone()
            if row is None or row[1] != slot:
                return False
            claimed = (
                conn.execute(
                    "INSERT OR IGNORE INTO cron_runs "
                    "(job_name, scheduled_for, trigger, started_at, status) "
                    "VALUES (?, ?, 'schedule', ?, 'running')",
                    (name, slot, format_ts(moment)),
                ).rowcount
                == 1
            )
            job = CronJob.model_validate_json(row[0])
            upcoming = next_fire(job, max(moment, scheduled_for))
            conn.execute(
                "UPDATE cron_jobs SET last_fire_at = ?, next_fire_at = ?, updated_at = ? "
                "WHERE name = ?",
                (slot, format_ts(upcoming), format_ts(moment), name),
            )
        return claimed

    def start_manual(self, name: str, *, now: datetime | None = None) -> datetime:
        """Record a run of ``name`` started by hand (``pyclaw cron run``); its key time."""
        self.get(name)
        moment = now or self.clock()
        with self.db.transaction() as conn:
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
    ) -> None:
        """Close a claimed (or manual) firing with the run's outcome."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE cron_runs SET status = ?, finished_at = ?, run_id = ?, session_id = ?, "
                "error = ? WHERE job_name = ? AND scheduled_for = ? AND status = 'running'",
                (
                    status,
                    format_ts(self.clock()),
                    run_id,
                    session_id,
                    error,
                    name,
                    format_ts(scheduled_for),
                ),
            )

    def runs(self, name: str | None = None, *, limit: int = 50) -> list[CronRun]:
        """Recorded firings, most recently started first."""
        where, args = ("WHERE job_name = ?", (name,)) if name is not None else ("", ())
        with self.db.locked() as conn:
            rows = conn.execute(
                "SELECT job_name, scheduled_for, trigger, started_at, finished_at, status, run_id, "
                f"session_id, error FROM cron_runs {where} ORDER BY started_at DESC, id DESC "
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


def _insert(
    conn: sqlite3.Connection, job: CronJob, source: CronSource, upcoming: datetime, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO cron_jobs (name, job, source, enabled, next_fire_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            job.name,
            job.model_dump_json(),
            source,
            int(job.enabled),
            format_ts(upcoming),
            format_ts(job.created_at),
            format_ts(now),
        ),
    )


def _changed(old: CronJob, new: CronJob) -> bool:
    keep = {"created_at", "enabled"}
    return old.model_dump(mode="json", exclude=keep) != new.model_dump(mode="json", exclude=keep)


def _config_next(job: CronJob, now: datetime) -> datetime:
    try:
        return checked_next_fire(job, now)
    except ValueError as exc:
        raise ConfigError(str(exc), key=f"[[cron]] {job.name!r} schedule") from None


def _update_config_job(conn: sqlite3.Connection, old: CronJob, job: CronJob, now: datetime) -> None:
    job = job.model_copy(update={"created_at": old.created_at})
    retimed = any(getattr(old, key) != getattr(job, key) for key in _TRIGGER_KEYS)
    values: list[object] = [job.model_dump_json(), format_ts(now)]
    sql = "UPDATE cron_jobs SET job = ?, updated_at = ?"
    if retimed:
        sql += ", next_fire_at = ?"
        values.append(format_ts(_config_next(job, now)))
    conn.execute(f"{sql} WHERE name = ?", (*values, job.name))
