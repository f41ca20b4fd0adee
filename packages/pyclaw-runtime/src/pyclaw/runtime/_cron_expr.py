"""Crontab expressions as cron means them, and their translation into APScheduler triggers.

Cron's fields are expanded to explicit sets here (so day-of-week numbers keep cron's meaning:
0 and 7 are Sunday, 1 is Monday; APScheduler's own numbers start at Monday), then handed to
APScheduler's ``CronTrigger`` as comma lists, with weekdays by name, which both agree on.

Two rules of Vixie/Debian cron (and cronie) are kept, as the ``cronsim`` oracle does:

- day of month and day of week: when neither field starts with ``*``, a day matches if *either*
  matches (``0 9 1 * mon`` = the 1st and every Monday); otherwise both must. APScheduler always
  requires both, so an OR expression becomes two triggers whose earliest time wins.
- a job is *fixed-time* when neither its minute nor its hour field starts with ``*``; DST handling
  differs for fixed-time and wildcard jobs (see ``_cron``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Protocol, cast

from pyclaw.runtime._schedule import check_crontab

if TYPE_CHECKING:
    from collections.abc import Sequence

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Cron's day-of-week numbers 0..6 (and 7 = Sunday again), by name."""
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# (lowest, highest, names) of minute, hour, day of month, month, day of week
_RANGES: tuple[tuple[int, int, tuple[str, ...], int], ...] = (
    (0, 59, (), 0),
    (0, 23, (), 0),
    (1, 31, (), 0),
    (1, 12, MONTH_NAMES, 1),
    (0, 7, DAY_NAMES, 0),
)


class WallTrigger(Protocol):
    """The part of an APScheduler trigger used here: the first fire time at or after ``now``."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed crontab: each field as the sorted set of values it allows (weekdays 0 = Sunday)."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    day_or: bool
    """Day of month and day of week are both restricted: a day matching either one matches."""
    fixed_time: bool
    """Neither minute nor hour starts with ``*``: Debian cron's DST rules for fixed times apply."""


def expand_macro(expression: str) -> str:
    """``@daily`` → ``0 0 * * *`` (other expressions unchanged, whitespace normalized)."""
    text = " ".join(expression.split())
    return MACROS.get(text.lower(), text)


@lru_cache(maxsize=256)
def parse_crontab(expression: str) -> CronSpec:
    """Parse a 5-field crontab or macro; ``ValueError`` with a one-line reason when it is invalid
    or can never fire (``0 0 30 2 *``)."""
    check_crontab(expression)
    fields = expand_macro(expression).lower().split()
    sets = [_expand(field, *limits) for field, limits in zip(fields, _RANGES, strict=True)]
    minutes, hours, days, months, weekdays = sets
    weekdays = sorted({day % 7 for day in weekdays})
    day_or = not fields[2].startswith("*") and not fields[4].startswith("*")
    if not day_or and days[0] > max(_DAYS_IN_MONTH[month - 1] for month in months):
        raise ValueError(f"crontab {expression!r} never fires: no such day in those months")
    return CronSpec(
        expression=expression.strip(),
        minutes=tuple(minutes),
        hours=tuple(hours),
        days=tuple(days),
        months=tuple(months),
        weekdays=tuple(weekdays),
        day_or=day_or,
        fixed_time=not fields[0].startswith("*") and not fields[1].startswith("*"),
    )


def _expand(field: str, low: int, high: int, names: tuple[str, ...], first: int) -> list[int]:
    """The values one field allows: ``*``, ``a``, ``a-b``, each with an optional ``/step``
    (``a/step`` runs from ``a`` to the field's end, as Vixie cron reads it)."""
    values: set[int] = set()
    for item in field.split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, stop = low, high
        else:
            bounds = [_number(part, names, first) for part in body.split("-")]
            start = bounds[0]
            stop = bounds[1] if len(bounds) == 2 else high if step_text else start
        values.update(range(start, stop + 1, step))
    return sorted(values)


def _number(part: str, names: tuple[str, ...], first: int) -> int:
    return int(part) if part.isdigit() else names.index(part) + first


def _listing(values: Sequence[int], full: int) -> str:
    """Values as a compact APScheduler field (each comma item costs it a pass): ``*``, an
    arithmetic run ``a-b/s``, or runs of consecutive values ``a-b,c``."""
    if len(values) == full:
        return "*"
    steps = {b - a for a, b in pairwise(values)}
    if len(values) >= 3 and len(steps) == 1:
        (step,) = steps
        return f"{values[0]}-{values[-1]}" + (f"/{step}" if step > 1 else "")
    runs: list[str] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(runs)


@lru_cache(maxsize=256)
def wall_triggers(spec: CronSpec) -> tuple[WallTrigger, ...]:
    """APScheduler triggers matching ``spec`` on wall-clock time (evaluated in UTC, so no DST):
    one trigger, or two for a day-of-month OR day-of-week expression."""
    from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - lazy: ~250 ms import

    common = {
        "second": "0",
        "minute": _listing(spec.minutes, 60),
        "hour": _listing(spec.hours, 24),
        "month": _listing(spec.months, 12),
    }
    days = _listing(spec.days, 31)
    weekdays = "*" if len(spec.weekdays) == 7 else ",".join(DAY_NAMES[d] for d in spec.weekdays)
    pairs = [(days, "*"), ("*", weekdays)] if spec.day_or else [(days, weekdays)]
    return tuple(
        cast("WallTrigger", CronTrigger(day=day, day_of_week=dow, timezone=UTC, **common))
        for day, dow in pairs
    )


def next_wall_match(spec: CronSpec, wall: datetime) -> datetime:
    """The first wall-clock time (naive) at or after naive ``wall`` that ``spec`` matches."""
    moment = wall.replace(tzinfo=UTC)
    found = [
        fire
        for trigger in wall_triggers(spec)
        if (fire := trigger.get_next_fire_time(None, moment)) is not None
    ]
    if not found:
        raise ValueError(f"crontab {spec.expression!r} has no fire time after {wall:%Y-%m-%d}")
    return min(found).replace(tzinfo=None)
