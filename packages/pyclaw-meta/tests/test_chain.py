"""The hash chain: ``SessionEvent.seal`` and ``verify_chain`` find every kind of tampering."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pyclaw.meta import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    ChainProblem,
    EventPayload,
    Message,
    NoteEvent,
    SessionEvent,
    ToolCall,
    ToolCallEvent,
    UserMessageEvent,
    canonical_json,
    event_hash,
    format_ts,
    payload_json,
    sha256_hex,
    verify_chain,
)

SID = "ses_1"
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def build_chain(n: int = 5, session_id: str = SID) -> list[SessionEvent]:
    events: list[SessionEvent] = []
    prev = GENESIS_HASH
    for seq in range(n):
        payload: EventPayload = (
            UserMessageEvent(message=Message.user(f"message {seq}"))
            if seq % 2 == 0
            else NoteEvent(text=f"note {seq}")
        )
        event = SessionEvent.seal(
            session_id=session_id,
            seq=seq,
            payload=payload,
            prev_hash=prev,
            run_id="run_1",
            event_id=f"evt_{seq}",
            ts=T0 + timedelta(seconds=seq),
        )
        events.append(event)
        prev = event.hash
    return events


def problems(
    events: list[SessionEvent], payload_texts: list[str] | None = None
) -> list[tuple[int, str | None, str]]:
    report = verify_chain(SID, events, payload_texts=payload_texts)
    assert report.ok == (not report.problems)
    return [(p.seq, p.event_id, p.problem) for p in report.problems]


def test_clean_chain_verifies() -> None:
    events = build_chain()
    report = verify_chain(SID, events)
    assert report.ok
    assert report.events == 5
    assert report.problems == ()
    assert report.head_hash == events[-1].hash
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_empty_chain_verifies_with_genesis_head() -> None:
    report = verify_chain(SID, [])
    assert report.ok
    assert report.events == 0
    assert report.head_hash == GENESIS_HASH


def test_seal_computes_digest_and_hash_from_the_stored_fields() -> None:
    payload = NoteEvent(text="hi")
    event = SessionEvent.seal(
        session_id=SID, seq=0, payload=payload, prev_hash=GENESIS_HASH, event_id="evt_0", ts=T0
    )
    assert event.schema_version == SCHEMA_VERSION
    assert event.kind == "note"
    assert event.payload_sha256 == sha256_hex(payload_json(payload))
    header = [SCHEMA_VERSION, "evt_0", SID, 0, None, format_ts(T0), "note", event.payload_sha256]
    assert event.hash == sha256_hex(canonical_json([*header, GENESIS_HASH]))
    assert event.hash == event.expected_hash()


def test_seal_normalizes_the_timestamp_to_utc() -> None:
    local = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    event = SessionEvent.seal(session_id=SID, seq=0, payload=NoteEvent(text="x"), prev_hash="0")
    assert event.ts.utcoffset() == timedelta(0)
    event = SessionEvent.seal(
        session_id=SID, seq=0, payload=NoteEvent(text="x"), prev_hash="0", ts=local
    )
    assert event.ts == local
    assert event.ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "evt_other"),
        ("session_id", "ses_other"),
        ("seq", 7),
        ("run_id", None),
        ("ts", format_ts(T0 + timedelta(microseconds=1))),
        ("kind", "error"),
        ("payload_sha256", "f" * 64),
        ("prev_hash", "e" * 64),
    ],
)
def test_every_header_field_is_covered_by_the_hash(field: str, value: object) -> None:
    fields: dict[str, object] = {
        "id": "evt_0",
        "session_id": SID,
        "seq": 0,
        "run_id": "run_1",
        "ts": format_ts(T0),
        "kind": "note",
        "payload_sha256": "a" * 64,
        "prev_hash": GENESIS_HASH,
    }
    original = event_hash(**fields)  # pyright: ignore[reportArgumentType] - typed by the table
    fields[field] = value
    assert event_hash(**fields) != original  # pyright: ignore[reportArgumentType]


def test_edited_payload_with_its_old_digest() -> None:
    events = build_chain()
    events[3] = events[3].model_copy(update={"payload": NoteEvent(text="forged note")})
    assert problems(events) == [(3, "evt_3", "payload does not match its digest")]


def test_payload_replaced_by_another_kind() -> None:
    events = build_chain()
    events[1] = events[1].model_copy(update={"payload": ToolCallEvent(call=ToolCall(name="x"))})
    assert problems(events) == [
        (1, "evt_1", "payload does not match its digest"),
        (1, "evt_1", "event hash mismatch"),  # the kind is part of the header
    ]


def test_edited_stored_payload_text() -> None:
    events = build_chain()
    texts = [payload_json(e.payload) for e in events]
    assert problems(events, payload_texts=texts) == []
    texts[2] = texts[2].replace("message 2", "message 9")
    assert problems(events, payload_texts=texts) == [
        (2, "evt_2", "payload does not match its digest")
    ]


@pytest.mark.parametrize(
    "update",
    [
        {"run_id": "run_forged"},
        {"ts": T0 + timedelta(days=1)},
        {"id": "evt_forged"},
    ],
    ids=["run_id", "ts", "id"],
)
def test_edited_header_field(update: dict[str, object]) -> None:
    events = build_chain()
    events[2] = events[2].model_copy(update=update)
    assert problems(events) == [(2, events[2].id, "event hash mismatch")]


def test_removed_event_is_reported_once() -> None:
    events = build_chain(6)
    del events[2]
    assert problems(events) == [
        (3, "evt_3", "sequence gap: expected seq 2, found 3"),
        (3, "evt_3", "prev_hash does not link"),
    ]


def test_removed_first_and_last_events() -> None:
    events = build_chain()
    assert problems(events[1:]) == [
        (1, "evt_1", "sequence gap: expected seq 0, found 1"),
        (1, "evt_1", "prev_hash does not link"),
    ]
    # Truncating the tail leaves a valid prefix: only an anchored head hash reveals it.
    report = verify_chain(SID, events[:-1])
    assert report.ok
    assert report.head_hash != events[-1].hash


def test_swapped_events() -> None:
    events = build_chain()
    events[1], events[2] = events[2], events[1]
    assert problems(events) == [
        (2, "evt_2", "sequence gap: expected seq 1, found 2"),
        (2, "evt_2", "prev_hash does not link"),
        (1, "evt_1", "sequence out of order: expected seq 3, found 1"),
        (1, "evt_1", "prev_hash does not link"),
        (3, "evt_3", "prev_hash does not link"),
    ]


def test_duplicated_event() -> None:
    events = build_chain()
    events.insert(2, events[1])
    assert problems(events) == [
        (1, "evt_1", "sequence out of order: expected seq 2, found 1"),
        (1, "evt_1", "prev_hash does not link"),  # event 2 after the copy still links
    ]


def test_forged_hash_value() -> None:
    events = build_chain()
    events[2] = events[2].model_copy(update={"hash": "f" * 64})
    assert problems(events) == [
        (2, "evt_2", "event hash mismatch"),
        (3, "evt_3", "prev_hash does not link"),
    ]


def test_resealed_forgery_breaks_the_next_link() -> None:
    """An attacker who edits an event and recomputes its digest and hash still breaks the chain."""
    events = build_chain()
    old = events[2]
    events[2] = SessionEvent.seal(
        session_id=SID,
        seq=2,
        payload=UserMessageEvent(message=Message.user("forged")),
        prev_hash=old.prev_hash,
        run_id=old.run_id,
        event_id=old.id,
        ts=old.ts,
    )
    assert problems(events) == [(3, "evt_3", "prev_hash does not link")]


def test_resealing_the_whole_tail_changes_the_head_hash() -> None:
    events = build_chain()
    forged = list(events[:2])
    for seq in range(2, 5):
        forged.append(
            SessionEvent.seal(
                session_id=SID,
                seq=seq,
                payload=NoteEvent(text="rewritten"),
                prev_hash=forged[-1].hash,
                event_id=f"evt_{seq}",
                ts=T0,
            )
        )
    report = verify_chain(SID, forged)
    assert report.ok  # internally consistent…
    assert report.head_hash != verify_chain(SID, events).head_hash  # …but a different head


def test_event_from_another_session() -> None:
    events = build_chain()
    other = build_chain(session_id="ses_other")
    events[4] = other[4].model_copy(update={"prev_hash": events[3].hash})
    assert problems(events) == [
        (4, "evt_4", "foreign session id"),
        (4, "evt_4", "event hash mismatch"),
    ]


def test_redacted_payload_text_is_what_the_digest_covers() -> None:
    payload = UserMessageEvent(message=Message.user("my key is sk-secret"))
    stored = payload_json(payload).replace("sk-secret", "[REDACTED:openai]")
    event = SessionEvent.seal(
        session_id=SID, seq=0, payload=payload, prev_hash=GENESIS_HASH, payload_text=stored
    )
    assert event.payload_sha256 == sha256_hex(stored)
    assert verify_chain(SID, [event], payload_texts=[stored]).ok
    # Re-rendering the unredacted payload does not match the stored digest.
    assert not verify_chain(SID, [event]).ok


def test_payload_texts_must_match_the_events_one_to_one() -> None:
    events = build_chain(3)
    texts = [payload_json(e.payload) for e in events]
    with pytest.raises(ValueError, match="fewer"):
        verify_chain(SID, events, payload_texts=texts[:2])
    with pytest.raises(ValueError, match="more"):
        verify_chain(SID, events, payload_texts=[*texts, "{}"])


def test_problems_are_chain_problem_models() -> None:
    events = build_chain(2)
    events[1] = events[1].model_copy(update={"hash": "0"})
    report = verify_chain(SID, events)
    assert report.problems == (
        ChainProblem(seq=1, event_id="evt_1", problem="event hash mismatch"),
    )
