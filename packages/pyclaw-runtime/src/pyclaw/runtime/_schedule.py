"""Checks for ``[[cron]]`` triggers: crontab expressions, ``every`` durations and time zones.

These validate the config early with clear messages; computing fire times is the scheduler's job.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (field name, lowest, highest, names mapped to numbers)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day-of-week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def check_crontab(expr: str) -> str:
    """Return ``expr`` if it is a 5-field crontab (or ``@daily``-style macro), else ``ValueError``."""
    text = expr.strip()
    if text.lower() in _MACROS:
        return text
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"crontab {expr!r} has {len(fields)} fields; "
            "expected 5 (minute hour day-of-month month day-of-week)"
        )
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in value.lower().split(","):
            _check_item(expr, item, name=name, low=low, high=high, names=names)
    return text


def _check_item(
    expr: str, item: str, *, name: str, low: int, high: int, names: dict[str, int]
) -> None:
    match = _ITEM.match(item)
    if match is None:
        raise ValueError(f"crontab {expr!r}: bad {name} field {item!r}")
    body, step = match.group(1), match.group(2)
    if step is not None and int(step) == 0:
        raise ValueError(f"crontab {expr!r}: step of 0 in the {name} field")
    if body == "*":
        return
    bounds = [_number(expr, part, name, names) for part in body.split("-")]
    for number in bounds:
        if not low <= number <= high:
            raise ValueError(f"crontab {expr!r}: {name} {number} is outside {low}-{high}")
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise ValueError(f"crontab {expr!r}: {name} range {body!r} runs backwards")


def _number(expr: str, part: str, name: str, names: dict[str, int]) -> int:
    if part.isdigit():
        return int(part)
    if part in names:
        return names[part]
    raise ValueError(f"crontab {expr!r}: {part!r} is not a valid {name}")


def parse_duration(value: str | float) -> float:
    """Seconds from ``30``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` or ``"1h30m"``; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '5m' or '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        parts = re.findall(r"\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)?", value.strip().lower())
        if not parts or "".join(parts).replace(" ", "") != value.strip().lower().replace(" ", ""):
            raise ValueError(f"{value!r} is not a duration such as '30s', '5m', '1h' or '1h30m'")
        seconds = 0.0
        for part in parts:
            match = _DURATION.match(part.strip())
            if match is None:  # pragma: no cover - findall only yields matching parts
                raise ValueError(f"{value!r} is not a duration")
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than zero")
    return seconds


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone (``Europe/Paris``, ``UTC``), else ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as 'Europe/Paris')"
        ) from None
    return name
