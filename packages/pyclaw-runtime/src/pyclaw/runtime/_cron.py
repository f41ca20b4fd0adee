"""When a ``CronJob`` fires: ``next_fire`` and ``fire_times``, in the job's time zone.

Wall-clock matches come from APScheduler's ``CronTrigger`` (see ``_cron_expr``); turning a wall
time into an instant follows Debian cron (Vixie cron as patched by Debian, and cronie), as the
``cronsim`` oracle does, because APScheduler 3.11 with ``zoneinfo`` returns non-existent local
times on spring-forward days:

- **Fixed-time jobs** (neither minute nor hour starts with ``*``, e.g. ``30 2 * * *``): a wall time
  skipped by a spring-forward change fires once at the first minute after the gap (03:00 in
  Berlin, 02:30 on Lord Howe Island); a wall time repeated by a fall-back change fires once, at its
  first occurrence.
- **Wildcard jobs** (``*/15 * * * *``, ``0 * * * *``): every real instant whose local time matches
  fires, so a repeated hour runs again (an hourly job still runs every hour) and skipped local
  times do not exist.

``every_seconds`` jobs fire at ``created_at + k * every`` (k ≥ 1), in exact integer microseconds;
DST does not affect them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pyclaw.meta import CronJob
from pyclaw.runtime._cron_expr import CronSpec, next_wall_match, parse_crontab

MINUTE = timedelta(minutes=1)
_TICK = timedelta(microseconds=1)
_WINDOW = timedelta(hours=3)
"""Longer than any DST shift, shorter than the time between two changes of one zone."""


def next_fire(job: CronJob, after: datetime) -> datetime:
    """The first fire time of ``job`` strictly after ``after`` (aware), in the job's time zone."""
    if after.tzinfo is None:
        raise ValueError("'after' must be timezone-aware")
    zone = ZoneInfo(job.timezone)
    if job.every_seconds is not None:
        return _next_interval(job.created_at, job.every_seconds, after).astimezone(zone)
    if job.schedule is None:  # pragma: no cover - CronJob requires one of them
        raise ValueError(f"cron job {job.name!r} has neither schedule nor every_seconds")
    spec = parse_crontab(job.schedule)
    moment = after.astimezone(UTC)
    found = _next_fixed(spec, zone, moment) if spec.fixed_time else _next_wild(spec, zone, moment)
    return found.astimezone(zone)


def fire_times(job: CronJob, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every fire time ``t`` of ``job`` with ``start < t <= end``, in order, in the job's zone."""
    moment = next_fire(job, start)
    while moment <= end:
        yield moment
        moment = next_fire(job, moment)


def _next_interval(anchor: datetime, every_seconds: float, after: datetime) -> datetime:
    step = timedelta(seconds=every_seconds)
    if after < anchor:
        return anchor + step
    return anchor + step * ((after - anchor) // step + 1)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo, fold: int) -> datetime | None:
    """The UTC instant of naive ``wall`` in ``zone`` (``fold`` picks a repeated time's
    occurrence); ``None`` when a spring-forward change skips it."""
    local = wall.replace(tzinfo=zone, fold=fold)
    moment = local.astimezone(UTC)
    return moment if _wall(moment, zone) == wall else None


def _next_fixed(spec: CronSpec, zone: ZoneInfo, after: datetime) -> datetime:
    """Fixed-time jobs: a skipped time moves to the end of the gap, a repeated one fires once.

    This mapping of wall times to instants never decreases, and no wall time up to ``after``'s
    own maps past ``after``: the scan starts just after it.
    """
    wall = _wall(after, zone) + _TICK
    while True:
        wall = next_wall_match(spec, wall)
        moment = _instant(wall, zone, 0)
        shifted = wall
        while moment is None:  # in a spring-forward gap: the first real minute after it
            shifted += MINUTE
            moment = _instant(shifted, zone, 0)
        if moment > after:
            return moment
        wall += MINUTE


def _next_wild(spec: CronSpec, zone: ZoneInfo, after: datetime) -> datetime:
    """Wildcard jobs: the earliest real instant after ``after`` whose local time matches.

    First occurrences of wall times never decrease with the wall time, nor do second ones, so
    each sequence is scanned on its own. Second occurrences only matter near a fall-back change
    (within a few hours of ``after``), and only one just ahead can make a wall time before
    ``after``'s own occur again after ``after``: that scan starts that much earlier.
    """
    wall = _wall(after, zone)
    first = _scan(spec, zone, after, wall + _TICK, fold=0)
    ahead = _offset(after + _WINDOW, zone)
    if _offset(after - _WINDOW, zone) <= ahead:
        return first
    back = max(_offset(after, zone) - ahead, timedelta())
    return min(first, _scan(spec, zone, after, wall - back, fold=1))


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta()


def _scan(spec: CronSpec, zone: ZoneInfo, after: datetime, wall: datetime, fold: int) -> datetime:
    while True:
        wall = next_wall_match(spec, wall)
        moment = _instant(wall, zone, fold)
        if moment is not None and moment > after:
            return moment
        wall += MINUTE
