"""Base model, identifiers, timestamps and canonical JSON shared by every schema."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
"""Version of the wire schemas in this package. Bumped on any incompatible change."""

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every session."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 Crockford digits
_PAIR_SHIFTS = range(120, -1, -10)  # 13 pairs = 26 digits; the top digit is 0..7


class Model(BaseModel):
    """Base of every PyClaw schema: immutable, strict about unknown keys, JSON round-trip lossless."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_inf_nan="strings",
        use_enum_values=False,
        validate_default=False,
        defer_build=True,
    )


def new_id(prefix: str = "") -> str:
    """A sortable unique id (ULID layout: 48-bit millisecond time + 80 random bits, Crockford base32).

    ``new_id("ses")`` gives ``"ses_01JD…"``; ids created later sort after ids created earlier
    (to the millisecond), which keeps SQLite indices append-friendly and listings readable.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    ulid = "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])
    return f"{prefix}_{ulid}" if prefix else ulid


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_ts(ts: datetime) -> str:
    """The canonical text form of a timestamp: UTC, microseconds, ``+00:00`` offset."""
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept, NaN refused."""
    return _CANONICAL.encode(value)


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes, or of a string's UTF-8 encoding."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
