"""``next_fire`` and ``fire_times``: cron semantics in a time zone, including DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from pyclaw.meta import CronJob
from pyclaw.runtime._cron import fire_times, next_fire

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def job(schedule: str, timezone: str = "Europe/Berlin") -> CronJob:
    return CronJob(name="j", schedule=schedule, timezone=timezone, prompt="p")


def local_times(schedule: str, zone: ZoneInfo, day: datetime) -> list[str]:
    """Fire times during the local calendar day ``day``, as ``HH:MM+offset``."""
    start = day.replace(tzinfo=zone) - timedelta(microseconds=1)
    end = (day + timedelta(days=1)).replace(tzinfo=zone) - timedelta(microseconds=1)
    return [t.strftime("%H:%M%z") for t in fire_times(job(schedule, str(zone)), start, end)]


def test_next_fire_is_strictly_after_and_in_the_jobs_zone() -> None:
    at = datetime(2025, 6, 2, 9, 0, tzinfo=BERLIN)
    found = next_fire(job("0 9 * * *"), at)
    assert found == datetime(2025, 6, 3, 9, 0, tzinfo=BERLIN)
    assert found.utcoffset() == timedelta(hours=2)
    assert next_fire(job("0 9 * * *"), at - timedelta(seconds=1)) == at
    assert next_fire(job("0 9 * * *"), at.astimezone(UTC)) == datetime(
        2025, 6, 3, 9, 0, tzinfo=BERLIN
    )


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(job("* * * * *"), datetime(2025, 1, 1))


def test_spring_forward_fixed_time_fires_once_at_the_end_of_the_gap() -> None:
    day = datetime(2025, 3, 30)  # Berlin: 02:00 CET -> 03:00 CEST
    assert local_times("30 2 * * *", BERLIN, day) == ["03:00+0200"]
    assert local_times("0,30 2 * * *", BERLIN, day) == ["03:00+0200"]
    assert local_times("30 1-3 * * *", BERLIN, day) == ["01:30+0100", "03:00+0200", "03:30+0200"]
    assert local_times("30 2 * * *", BERLIN, datetime(2025, 3, 31)) == ["02:30+0200"]
    assert local_times("30 2 * * *", NEW_YORK, datetime(2025, 3, 9)) == ["03:00-0400"]
    # Lord Howe Island moves 02:00 -> 02:30 (a 30-minute change).
    assert local_times("15 2 * * *", LORD_HOWE, datetime(2025, 10, 5)) == ["02:30+1100"]


def test_spring_forward_wildcard_job_skips_the_missing_hour() -> None:
    times = local_times("*/30 * * * *", BERLIN, datetime(2025, 3, 30))
    assert len(times) == 46
    assert times[2:5] == ["01:00+0100", "01:30+0100", "03:00+0200"]
    assert local_times("*/30 2 * * *", BERLIN, datetime(2025, 3, 30)) == []


def test_fall_back_fixed_time_fires_once() -> None:
    day = datetime(2025, 10, 26)  # Berlin: 03:00 CEST -> 02:00 CET
    assert local_times("30 2 * * *", BERLIN, day) == ["02:30+0200"]
    assert local_times("30 2 * * *", BERLIN, datetime(2025, 10, 27)) == ["02:30+0100"]
    assert local_times("45 1 * * *", LORD_HOWE, datetime(2025, 4, 6)) == ["01:45+1100"]
    assert local_times("30 1 * * *", NEW_YORK, datetime(2025, 11, 2)) == ["01:30-0400"]


def test_fall_back_wildcard_job_fires_in_both_hours() -> None:
    day = datetime(2025, 10, 26)
    hourly = local_times("0 * * * *", BERLIN, day)
    assert len(hourly) == 25
    assert hourly[1:4] == ["01:00+0200", "02:00+0200", "02:00+0100"]
    assert local_times("*/30 2 * * *", BERLIN, day) == [
        "02:00+0200",
        "02:30+0200",
        "02:00+0100",
        "02:30+0100",
    ]
    # Each fire time is a distinct instant, in order (subtract in UTC: aware datetimes sharing a
    # tzinfo subtract as wall-clock times).
    start = datetime(2025, 10, 25, 22, tzinfo=UTC)
    found = fire_times(job("*/20 * * * *"), start, start + timedelta(hours=4))
    instants = [t.astimezone(UTC) for t in found]
    assert len(instants) == 12
    assert [b - a for a, b in pairwise(instants)] == [timedelta(minutes=20)] * (len(instants) - 1)


def test_a_year_in_utc_has_no_surprises() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    times = list(fire_times(job("0 12 * * *", "UTC"), start, start.replace(year=2026)))
    assert len(times) == 365
    assert all(t.hour == 12 and t.utcoffset() == timedelta() for t in times)


def test_fire_times_bounds_are_exclusive_then_inclusive() -> None:
    start = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    end = datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
    times = list(fire_times(job("*/15 * * * *", "UTC"), start, end))
    assert [t.minute for t in times] == [15, 30, 45, 0]


def every(seconds: float, created: datetime, timezone: str = "UTC") -> CronJob:
    return CronJob(
        name="e", every_seconds=seconds, timezone=timezone, prompt="p", created_at=created
    )


def test_every_is_anchored_at_creation_in_exact_steps() -> None:
    created = datetime(2025, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    interval = every(90, created)
    assert next_fire(interval, created) == created + timedelta(seconds=90)
    assert next_fire(interval, created - timedelta(days=1)) == created + timedelta(seconds=90)
    later = created + timedelta(seconds=90 * 1_000_000)
    assert next_fire(interval, later) == later + timedelta(seconds=90)
    assert next_fire(interval, later - timedelta(microseconds=1)) == later


def test_every_ignores_dst_and_reports_in_the_jobs_zone() -> None:
    created = datetime(2025, 10, 25, 23, 0, tzinfo=UTC)
    interval = every(3600, created, "Europe/Berlin")
    times = list(fire_times(interval, created, created + timedelta(hours=4)))
    assert [t.strftime("%H:%M%z") for t in times] == [
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
        "04:00+0100",
    ]
