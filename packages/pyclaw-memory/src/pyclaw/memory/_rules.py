"""Checks shared by every backend, so they refuse the same things with the same messages."""

from __future__ import annotations

from datetime import datetime

from pyclaw.memory._text import normalize_text
from pyclaw.meta import MemoryItem, UsageError, format_ts


def dedupe_key(item: MemoryItem, now: datetime) -> str:
    """The normalized text of a memory about to be added; refuses blank text and past expiries."""
    key = normalize_text(item.text)
    if not key:
        raise UsageError("a memory's text must contain more than whitespace and punctuation")
    if item.expires_at is not None and item.expires_at <= now:
        raise UsageError(f"memory expires_at {format_ts(item.expires_at)} is not in the future")
    return key


def check_limit(limit: int) -> None:
    """Refuse a result limit below 1."""
    if limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")


def is_live(item: MemoryItem, now: datetime) -> bool:
    """Whether ``item`` has not expired at ``now``."""
    return item.expires_at is None or item.expires_at > now
