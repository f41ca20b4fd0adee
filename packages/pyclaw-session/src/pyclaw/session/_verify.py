"""Verifying a stored chain with ``pyclaw.meta.verify_chain`` over the exact stored bytes.

Integrity does not need the payloads parsed: the digest is recomputed from the stored text and the
event hash from the stored header columns (including ``kind``). So each stored row becomes a
``SessionEvent`` built without validation, with a stand-in payload that only carries the stored
``kind``; rows whose header cannot even be read are reported rather than raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pyclaw.meta import (
    ChainProblem,
    ChainReport,
    CustomEvent,
    SessionEvent,
    format_ts,
    verify_chain,
)
from pyclaw.session._records import StoredEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_ts(row: StoredEvent, problems: list[ChainProblem]) -> datetime:
    try:
        when = datetime.fromisoformat(row.ts)
    except (TypeError, ValueError):
        problems.append(ChainProblem(seq=row.seq, event_id=row.id, problem="unreadable timestamp"))
        return _EPOCH
    if when.tzinfo is None or format_ts(when) != row.ts:
        problems.append(
            ChainProblem(seq=row.seq, event_id=row.id, problem="timestamp not in canonical form")
        )
        return _EPOCH if when.tzinfo is None else when
    return when


def _unchecked_event(row: StoredEvent, ts: datetime) -> SessionEvent:
    standin = CustomEvent.model_construct(kind=row.kind, name="", data={})
    return SessionEvent.model_construct(
        id=row.id,
        session_id=row.session_id,
        seq=row.seq,
        run_id=row.run_id,
        ts=ts,
        payload=standin,
        payload_sha256=row.payload_sha256,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def verify_stored(
    session_id: str,
    rows: Sequence[StoredEvent],
    texts: Sequence[str],
    problems: Sequence[ChainProblem] = (),
) -> ChainReport:
    """Check ``rows`` (in stored seq order) whose payload texts are ``texts``.

    ``problems`` are findings of the backend itself (e.g. a payload artifact that is missing).
    """
    found = list(problems)
    events = [_unchecked_event(row, _parse_ts(row, found)) for row in rows]
    report = verify_chain(session_id, events, payload_texts=texts)
    if not found:
        return report
    merged = sorted((*found, *report.problems), key=lambda p: p.seq)
    return report.model_copy(update={"ok": False, "problems": tuple(merged)})
