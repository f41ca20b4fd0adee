"""The append hot path: sealing a batch of prepared payloads into chained events and table rows.

The hash format is ``pyclaw.meta``'s (``event_hash``, ``payload_json``, ``new_id``): this module only
avoids per-event overhead around it (one timestamp per batch, no re-rendering of payload text).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyclaw.meta import SessionEvent, event_hash, format_ts, new_id, sha256_hex, utcnow
from pyclaw.session._records import PreparedPayload

Row = tuple[object, ...]


def seal_batch(
    session_id: str,
    head: tuple[int, str],
    items: Sequence[PreparedPayload],
    run_id: str | None,
) -> tuple[list[SessionEvent], list[Row]]:
    """Seal ``items`` after ``head`` (seq, hash); returns the events and their ``events`` rows
    (``id, session_id, seq, run_id, ts, kind, payload, payload_ref, payload_sha256, prev_hash,
    hash``). All events of one batch share one timestamp."""
    seq, prev = head
    now = utcnow()
    ts = format_ts(now)
    events: list[SessionEvent] = []
    rows: list[Row] = []
    for item in items:
        seq += 1
        eid = new_id("evt")
        kind = item.payload.kind
        digest = sha256_hex(item.text)
        sealed = event_hash(
            id=eid,
            session_id=session_id,
            seq=seq,
            run_id=run_id,
            ts=ts,
            kind=kind,
            payload_sha256=digest,
            prev_hash=prev,
        )
        # every field was produced or validated just above: skip re-validating it
        events.append(
            SessionEvent.model_construct(
                id=eid,
                session_id=session_id,
                seq=seq,
                run_id=run_id,
                ts=now,
                payload=item.payload,
                payload_sha256=digest,
                prev_hash=prev,
                hash=sealed,
            )
        )
        inline = item.text if item.ref is None else None
        rows.append(
            (eid, session_id, seq, run_id, ts, kind, inline, item.ref, digest, prev, sealed)
        )
        prev = sealed
    return events, rows
