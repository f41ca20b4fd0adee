"""``FakeClock``: a settable "now" to inject into stores whose behaviour depends on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A callable returning a fixed aware UTC time that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, /, **units: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**units)``; returns the new time."""
        self.now += delta if delta is not None else timedelta(**units)
        return self.now
