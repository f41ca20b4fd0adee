from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyclaw.runtime._schedule import check_crontab, check_timezone, parse_duration


@pytest.mark.parametrize(
    "expr",
    [
        "* * * * *",
        "*/5 0-6 1,15 jan-mar sun",
        "0 9 * * 1-5",
        "@daily",
        "0 0 * * 7",
        "5-10/2 * * * *",
    ],
)
def test_valid_crontabs(expr: str) -> None:
    assert check_crontab(expr) == expr


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "minute 60"),
        ("* 24 * * *", "hour 24"),
        ("* * 0 * *", "day-of-month 0"),
        ("* * * 13 *", "month 13"),
        ("* * * * 8", "day-of-week 8"),
        ("*/0 * * * *", "step of 0"),
        ("5-1 * * * *", "runs backwards"),
        ("* * * foo *", "not a valid month"),
        ("? * * * *", "bad minute field"),
    ],
)
def test_invalid_crontabs(expr: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_crontab(expr)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("45", 45.0),
        ("500ms", 0.5),
    ],
)
def test_durations(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "5 minutes", "-5s", "0", 0, True, "5x"])
def test_bad_durations(value: str | float) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["s", "m", "h", "d"]))
def test_duration_units(n: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_duration(f"{n}{unit}") == n * factor


def test_timezones() -> None:
    assert check_timezone("Europe/Paris") == "Europe/Paris"
    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone("Nowhere/Land")
