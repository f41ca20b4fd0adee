"""Crontab parsing: cron's own meaning of each field, translated for APScheduler."""

from __future__ import annotations

from datetime import datetime

import pytest

from pyclaw.runtime._cron_expr import expand_macro, next_wall_match, parse_crontab

SUN, MON, TUE, WED, THU, FRI, SAT = range(7)


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("0", (SUN,)),
        ("7", (SUN,)),
        ("1", (MON,)),
        ("6", (SAT,)),
        ("sun", (SUN,)),
        ("SAT", (SAT,)),
        ("mon-fri", (MON, TUE, WED, THU, FRI)),
        ("1-5", (MON, TUE, WED, THU, FRI)),
        ("0-2", (SUN, MON, TUE)),
        ("5-7", (SUN, FRI, SAT)),
        ("6,0", (SUN, SAT)),
        ("sat,sun", (SUN, SAT)),
        ("*/2", (SUN, TUE, THU, SAT)),
        ("1-7/2", (SUN, MON, WED, FRI)),
        ("1/3", (SUN, MON, THU)),
        ("*/7", (SUN,)),
        ("*", (SUN, MON, TUE, WED, THU, FRI, SAT)),
    ],
)
def test_day_of_week_numbers_and_names_mean_what_cron_means(
    field: str, weekdays: tuple[int, ...]
) -> None:
    assert parse_crontab(f"0 0 * * {field}").weekdays == weekdays


@pytest.mark.parametrize(
    ("expr", "date"),
    [
        ("0 12 * * 0", datetime(2025, 6, 1, 12)),  # 2025-06-01 is a Sunday
        ("0 12 * * 7", datetime(2025, 6, 1, 12)),
        ("0 12 * * 1", datetime(2025, 6, 2, 12)),
        ("0 12 * * sun", datetime(2025, 6, 1, 12)),
        ("0 12 * * 5-7", datetime(2025, 6, 1, 12)),
        ("0 12 * * 2-4", datetime(2025, 6, 3, 12)),
        ("0 12 * * sat", datetime(2025, 6, 7, 12)),
    ],
)
def test_weekday_matches_reach_the_trigger_untranslated(expr: str, date: datetime) -> None:
    # From Saturday 2025-05-31 13:00 (naive wall clock) onwards.
    assert next_wall_match(parse_crontab(expr), datetime(2025, 5, 31, 13)) == date


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("*/15", (0, 15, 30, 45)),
        ("5-10/2", (5, 7, 9)),
        ("50/4", (50, 54, 58)),
        ("1,2,3,59", (1, 2, 3, 59)),
        ("0-4,58-59", (0, 1, 2, 3, 4, 58, 59)),
    ],
)
def test_minute_lists_ranges_and_steps(field: str, values: tuple[int, ...]) -> None:
    assert parse_crontab(f"{field} * * * *").minutes == values


def test_month_names_and_steps() -> None:
    assert parse_crontab("0 0 1 jan-mar *").months == (1, 2, 3)
    assert parse_crontab("0 0 1 */4 *").months == (1, 5, 9)
    assert parse_crontab("0 0 */10 * *").days == (1, 11, 21, 31)


@pytest.mark.parametrize(
    ("macro", "expr"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros(macro: str, expr: str) -> None:
    assert expand_macro(macro) == expr
    spec, plain = parse_crontab(macro), parse_crontab(expr)
    assert (spec.minutes, spec.hours, spec.days, spec.months, spec.weekdays) == (
        plain.minutes,
        plain.hours,
        plain.days,
        plain.months,
        plain.weekdays,
    )
    assert spec.fixed_time == plain.fixed_time


@pytest.mark.parametrize(
    ("expr", "day_or"),
    [
        ("0 0 1 * mon", True),
        ("0 0 1-7 * 1-5", True),
        ("0 0 * * mon", False),
        ("0 0 1 * *", False),
        ("0 0 */2 * mon", False),  # Vixie cron: a field starting with '*' means AND
        ("0 0 1 * */2", False),
    ],
)
def test_day_of_month_or_day_of_week(expr: str, day_or: bool) -> None:
    assert parse_crontab(expr).day_or is day_or


def test_or_rule_fires_on_either_day() -> None:
    spec = parse_crontab("0 9 13 * fri")  # the 13th, and every Friday
    wall = datetime(2025, 6, 1)
    found: list[datetime] = []
    for _ in range(4):
        wall = next_wall_match(spec, wall)
        found.append(wall)
        wall = wall.replace(minute=1)
    assert [d.day for d in found] == [6, 13, 20, 27]  # Fridays, and Friday the 13th once
    spec = parse_crontab("0 9 1 * mon")
    assert next_wall_match(spec, datetime(2025, 6, 1, 10)) == datetime(2025, 6, 2, 9)
    assert next_wall_match(spec, datetime(2025, 6, 30, 10)) == datetime(2025, 7, 1, 9)


def test_and_rule_when_a_day_field_starts_with_a_star() -> None:
    # Odd days that are also Mondays.
    spec = parse_crontab("0 9 */2 * mon")
    assert next_wall_match(spec, datetime(2025, 6, 1)) == datetime(2025, 6, 9, 9)


@pytest.mark.parametrize(
    ("expr", "fixed"),
    [
        ("30 2 * * *", True),
        ("0,30 1-3 * * *", True),
        ("0 * * * *", False),
        ("*/5 2 * * *", False),
        ("0 */2 * * *", False),
        ("@daily", True),
        ("@hourly", False),
    ],
)
def test_fixed_time_jobs(expr: str, fixed: bool) -> None:
    assert parse_crontab(expr).fixed_time is fixed


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 0 * * 8", "day-of-week 8"),
        ("* * * *", "has 4 fields"),
        ("@reboot", "has 1 fields"),
    ],
)
def test_invalid_expressions(expr: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_crontab(expr)


def test_expressions_that_fire_rarely_are_valid() -> None:
    assert parse_crontab("0 0 29 2 *").days == (29,)
    assert parse_crontab("0 0 31 2 mon").day_or  # every Monday in February
    assert next_wall_match(parse_crontab("0 0 29 2 *"), datetime(2097, 3, 1)) == datetime(
        2104, 2, 29
    )
