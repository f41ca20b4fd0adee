"""Fire times checked against an independent implementation: ``cronsim`` (Debian cron's rules).

Random crontab expressions (a seeded generator: the same cases on every run) over a year in four
zones, among them Lord Howe Island's 30-minute DST change. Sparse expressions are compared over
the whole of 2025; dense ones over the days around each DST change, where the rules matter.

One known oracle bug is allowed for: for wildcard-hour jobs cronsim steps hours in real time, so
with a 30-minute fall-back (Lord Howe) it skips the first whole hour after the repeated half hour
(``0 */2 * * *`` misses 02:00+10:30, a real local time that matches). Such times must be real,
matching local times on a DST-change day; any time the oracle has and we do not is a failure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pyclaw.meta import CronJob
from pyclaw.runtime._cron import fire_times
from pyclaw.runtime._cron_expr import CronSpec, parse_crontab

cronsim = pytest.importorskip(
    "cronsim", reason="cronsim is a workspace dev dependency, not one of pyclaw-runtime's"
)

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
SPARSE = 1500
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CHOSEN = (
    "30 2 * * *",
    "0,30 2 * * *",
    "30 1-3 * * *",
    "0 * * * *",
    "*/30 2 * * *",
    "0 */2 * * *",
    "15 1,2,3 * * sun",
    "0 9 1 * mon",
    "0 0 13 * 5",
    "0 0 * * 7",
    "59 23 31 * *",
    "0 12 29 2 *",
    "5 4 */2 * mon-fri",
    "0 0 1 jan,jul *",
)


def _item(rng: random.Random, low: int, high: int, names: tuple[str, ...], first: int) -> str:
    roll = rng.random()
    if roll < 0.15:
        return "*"
    if roll < 0.3:
        return f"*/{rng.randint(2, max(2, (high - low) // 2))}"
    if roll < 0.55:
        # a < b: cronsim reads a one-value range with a step ("1-1/2") as "1/2" (1, 3, 5…).
        a = rng.randint(low, high - 1)
        b = rng.randint(a + 1, high)
        return f"{a}-{b}" + (f"/{rng.randint(1, 5)}" if rng.random() < 0.3 else "")
    if roll < 0.62:
        return f"{rng.randint(low, high)}/{rng.randint(2, 10)}"
    value = rng.randint(low, high)
    if names and rng.random() < 0.3 and 0 <= value - first < len(names):
        return names[value - first]
    return str(value)


def _field(
    rng: random.Random,
    low: int,
    high: int,
    names: tuple[str, ...] = (),
    first: int = 0,
    most: int = 3,
) -> str:
    return ",".join(_item(rng, low, high, names, first) for _ in range(rng.randint(1, most)))


def random_expression(rng: random.Random) -> str:
    minute = _field(rng, 0, 59, most=2)
    if minute.startswith("*") and not minute.startswith("*/"):
        minute = f"*/{rng.randint(10, 30)}"
    hour = _field(rng, 0, 23, most=2)
    day = "*" if rng.random() < 0.5 else _field(rng, 1, 31)
    month = "*" if rng.random() < 0.6 else _field(rng, 1, 12, MONTHS, 1)
    weekday = "*" if rng.random() < 0.5 else _field(rng, 0, 7, DAYS, 0)
    return f"{minute} {hour} {day} {month} {weekday}"


def cases() -> list[str]:
    rng = random.Random(20251026)
    found: list[str] = []
    while len(found) < 40:
        expression = random_expression(rng)
        try:
            parse_crontab(expression)
        except ValueError:  # e.g. "0 0 30 2 *" never fires
            continue
        found.append(expression)
    return [*CHOSEN, *found]


def oracle(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    found: list[datetime] = []
    for moment in cronsim.CronSim(expression.upper(), start.astimezone(zone)):
        instant = moment.astimezone(UTC)
        if instant > end:
            break
        found.append(instant)
    return found


def ours(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    job = CronJob(name="j", schedule=expression, timezone=zone.key, prompt="p")
    return [moment.astimezone(UTC) for moment in fire_times(job, start, end)]


def dst_windows(zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """Two days either side of each 2025 offset change of ``zone``."""
    day = YEAR_START
    while day < YEAR_END:
        following = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            yield day - timedelta(days=2), following + timedelta(days=2)
        day = following


def day_matches(spec: CronSpec, day: datetime) -> bool:
    weekday = (day.weekday() + 1) % 7
    if spec.day_or:
        return day.day in spec.days or weekday in spec.weekdays
    return day.day in spec.days and weekday in spec.weekdays and day.month in spec.months


def yearly_count(spec: CronSpec) -> int:
    """About how often ``spec`` fires in 2025 (to pick the whole year or DST windows)."""
    days = [YEAR_START + timedelta(days=n) for n in range(365)]
    matching = sum(1 for d in days if d.month in spec.months and day_matches(spec, d))
    return matching * len(spec.minutes) * len(spec.hours)


def is_real_matching_dst_day_time(spec: CronSpec, zone: ZoneInfo, instant: datetime) -> bool:
    local = instant.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, tzinfo=None)
    offsets = {
        (midnight + timedelta(hours=h)).replace(tzinfo=zone).utcoffset() for h in (0, 12, 24)
    }
    return (
        zone.key == "Australia/Lord_Howe"
        and not spec.fixed_time
        and len(offsets) > 1
        and local.minute in spec.minutes
        and local.hour in spec.hours
        and local.month in spec.months
        and day_matches(spec, local)
    )


@pytest.mark.parametrize("zone_name", ZONES)
def test_fire_times_match_the_oracle(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    windows = list(dst_windows(zone))
    compared = 0
    for expression in cases():
        spec = parse_crontab(expression)
        spans = [(YEAR_START, YEAR_END)] if yearly_count(spec) <= SPARSE else windows
        for start, end in spans:
            expected = oracle(expression, zone, start, end)
            got = ours(expression, zone, start, end)
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            assert not missing, (expression, zone_name, missing[:3])
            assert all(is_real_matching_dst_day_time(spec, zone, t) for t in extra), (
                expression,
                zone_name,
                extra[:3],
            )
            assert got == sorted(got)
            compared += len(got)
    assert compared > 10_000
