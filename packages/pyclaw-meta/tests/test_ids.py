"""Identifiers, timestamps, canonical JSON, hashing and ``ToolCall.call_hash``."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pyclaw.meta import ToolCall, canonical_json, format_ts, new_id, sha256_hex, utcnow

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID = re.compile(rf"[{CROCKFORD}]{{26}}")


def ulid_millis(ulid: str) -> int:
    value = 0
    for char in ulid:
        value = value * 32 + CROCKFORD.index(char)
    return value >> 80


def test_new_id_shape_and_prefix() -> None:
    bare = new_id()
    assert ULID.fullmatch(bare)
    prefixed = new_id("ses")
    assert prefixed.startswith("ses_")
    assert ULID.fullmatch(prefixed.removeprefix("ses_"))


def test_new_id_encodes_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    ulid = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= ulid_millis(ulid) <= after


def test_new_id_is_unique_over_100k() -> None:
    ids = [new_id("evt") for _ in range(100_000)]
    assert len(set(ids)) == len(ids)


def test_new_id_sorts_by_creation_time_across_milliseconds() -> None:
    ids: list[str] = []
    for _ in range(30):
        ids.append(new_id("run"))
        time.sleep(0.002)
    assert sorted(ids) == ids
    assert len({ulid_millis(i.removeprefix("run_")) for i in ids}) == 30


def test_call_hash_ignores_key_order_and_call_id() -> None:
    a = ToolCall(
        id="c1", name="fetch", arguments={"url": "u", "opts": {"a": 1, "b": [1, {"x": 2, "y": 3}]}}
    )
    b = ToolCall(
        id="c2", name="fetch", arguments={"opts": {"b": [1, {"y": 3, "x": 2}], "a": 1}, "url": "u"}
    )
    assert a.call_hash == b.call_hash
    assert re.fullmatch(r"[0-9a-f]{64}", a.call_hash)


@pytest.mark.parametrize(
    "other",
    [
        ToolCall(name="fetch", arguments={"url": "v"}),
        ToolCall(name="fetch", arguments={"url": "u", "extra": None}),
        ToolCall(name="fetch", arguments={"url": ["u"]}),
        ToolCall(name="fetch", arguments={"url": "u"}, raw_arguments='{"url": "u"'),
        ToolCall(name="fetch2", arguments={"url": "u"}),
        ToolCall(name="fetch", arguments={"url": 1}),
        ToolCall(name="fetch", arguments={"url": True}),
    ],
)
def test_call_hash_differs_for_different_calls(other: ToolCall) -> None:
    assert ToolCall(name="fetch", arguments={"url": "u"}).call_hash != other.call_hash


def test_call_hash_is_stable_across_a_json_round_trip() -> None:
    call = ToolCall(name="t", arguments={"z": 1.5, "a": "é", "n": None})
    assert ToolCall.model_validate_json(call.model_dump_json()).call_hash == call.call_hash


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"], "c": None}) == '{"a":[1,"é"],"b":1,"c":null}'
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})
    assert json.loads(canonical_json({"k": 1e16})) == {"k": 1e16}


def test_format_ts_is_utc_with_microseconds() -> None:
    local = datetime(2025, 6, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_ts(local) == "2025-06-01T12:00:00.000000+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_ts(datetime(2025, 6, 1))  # a naive datetime


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_sha256_hex_of_text_and_bytes() -> None:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex("") == sha256_hex(b"") == empty
    assert sha256_hex("é") == sha256_hex("é".encode())
