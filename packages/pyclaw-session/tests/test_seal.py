"""The batch sealing on the append hot path produces exactly what ``SessionEvent.seal`` would."""

from __future__ import annotations

import pytest

from pyclaw.meta import (
    SessionEvent,
    format_ts,
    payload_json,
)
from pyclaw.session._records import PreparedPayload
from pyclaw.session._seal import seal_batch
from pyclaw.session.testing import sample_payloads


@pytest.mark.parametrize(
    ("session_id", "run_id"),
    [("ses_plain", "run_1"), ("ses_plain", None), ("ses_ü", "run_1"), ("ses_1", 'run "quoted" \\')],
)
def test_seal_batch_matches_session_event_seal(session_id: str, run_id: str | None) -> None:
    items = [PreparedPayload(p, payload_json(p)) for p in sample_payloads()]
    events, rows = seal_batch(session_id, (4, "f" * 64), items, run_id)
    assert [e.seq for e in events] == list(range(5, 5 + len(items)))
    prev = "f" * 64
    for event, row, item in zip(events, rows, items, strict=True):
        again = SessionEvent.seal(
            session_id=session_id,
            seq=event.seq,
            payload=item.payload,
            prev_hash=prev,
            run_id=run_id,
            event_id=event.id,
            ts=event.ts,
            payload_text=item.text,
        )
        assert event == again
        assert row == (
            event.id,
            session_id,
            event.seq,
            run_id,
            format_ts(event.ts),
            event.kind,
            item.text,
            None,
            event.payload_sha256,
            prev,
            event.hash,
        )
        prev = event.hash
