"""``CronStore``: scheduled jobs in the home's SQLite database (the jobs half; firings, claims and
run history are ``CronFirings``, in ``_cron_firings``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pyclaw.meta import ConfigError, CronJob, UsageError, format_ts, utcnow
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._cron import next_fire
from pyclaw.runtime._cron_failures import CronFailurePolicy, one_line
from pyclaw.runtime._cron_firings import (
    ENTRY_SELECT,
    CronFirings,
    DeliveryStatus,
    DueJob,
    RunStatusText,
)
from pyclaw.runtime._cron_rows import (
    CronEntry,
    CronJobNotFoundError,
    CronSource,
    entry_from_row,
    job_not_found,
)
from pyclaw.runtime._cron_schema import CRON_MIGRATIONS
from pyclaw.runtime._schedule import check_timezone
from pyclaw.storage import Database

__all__ = [
    "CronJobNotFoundError",
    "CronStore",
    "CronSyncReport",
    "DeliveryStatus",
    "DueJob",
    "RunStatusText",
    "checked_next_fire",
]

_TRIGGER_KEYS = ("schedule", "every_seconds", "timezone")


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


class CronStore(CronFirings):
    """Cron jobs (``[[cron]]`` entries and ``pyclaw cron add`` ones) and their firings.

    ``policy`` decides the backoff retries and auto-disable of failing jobs (``_cron_failures``).
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        policy: CronFailurePolicy | None = None,
    ) -> None:
        db.ensure(CRON_MIGRATIONS)
        self.db = db
        self.clock = clock
        self.policy = policy or CronFailurePolicy()

    # -- jobs ------------------------------------------------------------------------------------

    def add(self, job: CronJob, *, source: CronSource = "cli") -> CronEntry:
        """Add ``job``; ``UsageError`` when the name is taken or the schedule/time zone is bad.

        A *disabled* job of the same name and source is replaced by ``job`` and enabled again
        (its failure count reset, its run history kept).
        """
        now = self.clock()
        try:
            upcoming = checked_next_fire(job, now)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        with self.db.transaction() as conn:
            found = conn.execute(
                "SELECT source, enabled FROM cron_jobs WHERE name = ?", (job.name,)
            ).fetchone()
            if found is None:
                _insert(conn, job, source, upcoming, now)
            elif found[0] == source and not found[1]:
                conn.execute("DELETE FROM cron_jobs WHERE name = ?", (job.name,))
                _insert(conn, job.model_copy(update={"enabled": True}), source, upcoming, now)
            else:
                raise _name_taken(job.name, source=str(found[0]), enabled=bool(found[1]))
        return self.get(job.name)

    def enable(self, name: str) -> CronEntry:
        """Turn job ``name`` on again: failure count reset, next run at its next regular fire
        time from now (firings missed while it was off are not run). No-op if it is on."""
        now = self.clock()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT job, enabled FROM cron_jobs WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and not row[1]:
                job = CronJob.model_validate_json(row[0])
                conn.execute(
                    "UPDATE cron_jobs SET enabled = 1, consecutive_failures = 0, retry_at = NULL, "
                    "disabled_reason = NULL, next_fire_at = ?, updated_at = ? WHERE name = ?",
                    (format_ts(next_fire(job, now)), format_ts(now), name),
                )
        return self.get(name)

    def disable(self, name: str, reason: str = "disabled with 'pyclaw cron disable'") -> CronEntry:
        """Turn job ``name`` off (it stays listed, with ``reason``). No-op if it is off."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE cron_jobs SET enabled = 0, retry_at = NULL, disabled_reason = ?, "
                "updated_at = ? WHERE name = ? AND enabled = 1",
                (one_line(reason), format_ts(self.clock()), name),
            )
        return self.get(name)

    def get(self, name: str) -> CronEntry:
        with self.db.locked() as conn:
            row = conn.execute(f"{ENTRY_SELECT} WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise job_not_found(name)
        return entry_from_row(row)

    def list_jobs(self) -> list[CronEntry]:
        """Every job, by name."""
        with self.db.locked() as conn:
            rows = conn.execute(f"{ENTRY_SELECT} ORDER BY name").fetchall()
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


def _name_taken(name: str, *, source: str, enabled: bool) -> UsageError:
    if source == "config" and not enabled:
        return UsageError(
            f"cron job {name!r} is defined in pyclaw.toml and disabled",
            hint=f"'pyclaw cron enable {name}' turns it back on",
        )
    return UsageError(
        f"a cron job named {name!r} already exists",
        hint=f"pick another name or 'pyclaw cron rm {name}' first",
    )
