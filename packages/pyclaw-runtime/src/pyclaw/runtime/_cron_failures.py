"""What the outcome of a scheduled firing does to its job: backoff retries and auto-disable.

The rules (``CronFailurePolicy``, applied by ``CronStore.finish`` in the same transaction that
closes the firing):

- Only firings by the schedule count. Manual ones (``pyclaw cron run``) do not, and neither do
  ``cancelled`` or ``interrupted`` ones (a shutdown, ``pyclaw runs stop``, a crash): those
  neither count as a failure nor reset the count.
- A success resets ``consecutive_failures`` to 0.
- The k-th failure in a row plans a retry ``backoff[k-1]`` seconds after the failed run ended
  (30 s, 1 min, 5 min, 15 min, 60 min by default; the last delay repeats), **only if that comes
  before the job's next regular fire time**. A retry never postpones or replaces a regular
  firing: the next attempt is ``min(failure + backoff, next regular time)``. So an hourly job
  that fails at 09:00 is tried again at 09:00:30, 09:01:30, 09:06:30…, while a job every
  2 minutes just carries on with its schedule once the backoff is longer than its period.
- After ``max_failures`` failures in a row (default 5) the job is disabled and the reason
  recorded; ``pyclaw cron enable NAME`` (or ``pyclaw cron add`` of that name again) turns it
  back on with the count reset, from the next regular fire time (missed ones are not run).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyclaw.meta import format_ts

DEFAULT_BACKOFF = (30.0, 60.0, 300.0, 900.0, 3600.0)
"""Seconds between a failed firing and its retry: after the 1st, 2nd, … failure in a row."""


@dataclass(frozen=True, slots=True)
class CronFailurePolicy:
    """How failed scheduled firings are retried and when a failing job is disabled."""

    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    """Delay (seconds) before retrying after the k-th failure in a row; the last one repeats."""
    max_failures: int = 5
    """Failures in a row that disable the job; 0 never disables."""

    def __post_init__(self) -> None:
        if not self.backoff or any(delay <= 0 for delay in self.backoff):
            raise ValueError("backoff needs at least one delay, each greater than zero")
        if self.max_failures < 0:
            raise ValueError("max_failures must be 0 (never disable) or more")

    def retry_delay(self, failures: int) -> timedelta:
        """The backoff after ``failures`` (≥ 1) failures in a row."""
        index = min(max(failures, 1), len(self.backoff)) - 1
        return timedelta(seconds=self.backoff[index])

    def disables(self, failures: int) -> bool:
        """Whether ``failures`` failures in a row disable the job."""
        return self.max_failures > 0 and failures >= self.max_failures


def one_line(text: str | None, limit: int = 200) -> str:
    """An error message as one line of at most ``limit`` characters."""
    flat = " ".join((text or "unknown error").split()) or "unknown error"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def record_outcome(
    conn: sqlite3.Connection,
    name: str,
    *,
    failed: bool,
    error: str | None,
    now: datetime,
    policy: CronFailurePolicy,
) -> None:
    """Apply the policy to job ``name`` after a scheduled firing succeeded or failed (in the
    caller's transaction)."""
    if not failed:
        conn.execute(
            "UPDATE cron_jobs SET consecutive_failures = 0, retry_at = NULL WHERE name = ?",
            (name,),
        )
        return
    row = conn.execute(
        "SELECT consecutive_failures, next_fire_at, enabled FROM cron_jobs WHERE name = ?",
        (name,),
    ).fetchone()
    if row is None:  # removed while it ran
        return
    failures = int(row[0]) + 1
    stamp = format_ts(now)
    if policy.disables(failures) and row[2]:
        reason = f"{failures} consecutive failures; last: {one_line(error)}"
        conn.execute(
            "UPDATE cron_jobs SET consecutive_failures = ?, enabled = 0, retry_at = NULL, "
            "disabled_reason = ?, updated_at = ? WHERE name = ?",
            (failures, reason, stamp, name),
        )
        return
    retry = now + policy.retry_delay(failures)
    regular = None if row[1] is None else datetime.fromisoformat(row[1])
    if row[2] and (regular is None or retry < regular):
        conn.execute(
            "UPDATE cron_jobs SET consecutive_failures = ?, retry_at = ?, next_fire_at = ?, "
            "updated_at = ? WHERE name = ?",
            (failures, format_ts(retry), format_ts(retry), stamp, name),
        )
    else:
        conn.execute(
            "UPDATE cron_jobs SET consecutive_failures = ? WHERE name = ?", (failures, name)
        )
