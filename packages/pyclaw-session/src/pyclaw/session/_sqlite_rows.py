"""Row <-> model conversions and column lists of the session tables."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import JsonValue

from pyclaw.meta import ErrorInfo, RunRecord, RunStatus, SessionInfo, Usage
from pyclaw.session._records import StoredEvent

EVENT_COLUMNS = (
    "id, session_id, seq, run_id, ts, kind, payload, payload_ref, payload_sha256, prev_hash, hash"
)
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SESSION_SELECT = """
    SELECT s.id, s.agent, s.channel, s.title, s.external_key, s.metadata, s.created_at,
        (SELECT e.seq FROM events AS e WHERE e.session_id = s.id ORDER BY e.seq DESC LIMIT 1),
        (SELECT e.ts FROM events AS e WHERE e.session_id = s.id ORDER BY e.seq DESC LIMIT 1)
    FROM sessions AS s
"""
RUN_COLUMNS = (
    "id, session_id, agent, status, trigger, started_at, finished_at, "
    "input_tokens, output_tokens, cached_tokens, cost_usd, error"
)

Row = tuple[object, ...]


def session_info(row: Row) -> SessionInfo:
    sid, agent, channel, title, key, metadata, created_at, last_seq, last_ts = row
    meta: dict[str, JsonValue] = json.loads(str(metadata))
    return SessionInfo(
        id=str(sid),
        agent=str(agent),
        channel=str(channel),
        title=None if title is None else str(title),
        external_key=None if key is None else str(key),
        metadata=meta,
        created_at=datetime.fromisoformat(str(created_at)),
        event_count=0 if last_seq is None else int(str(last_seq)) + 1,
        last_event_at=None if last_ts is None else datetime.fromisoformat(str(last_ts)),
    )


def run_record(row: Row) -> RunRecord:
    rid, sid, agent, status, trigger, started, finished, tin, tout, tcached, cost, error = row
    return RunRecord(
        id=str(rid),
        session_id=str(sid),
        agent=str(agent),
        status=RunStatus(str(status)),
        trigger=None if trigger is None else str(trigger),
        started_at=datetime.fromisoformat(str(started)),
        finished_at=None if finished is None else datetime.fromisoformat(str(finished)),
        usage=Usage(
            input_tokens=int(str(tin)),
            output_tokens=int(str(tout)),
            cached_tokens=int(str(tcached)),
        ),
        cost_usd=float(str(cost)),
        error=None if error is None else ErrorInfo.model_validate_json(str(error)),
    )


def stored_event(row: Row) -> StoredEvent:
    eid, sid, seq, run_id, ts, kind, payload, ref, digest, prev, h = row
    return StoredEvent(
        id=str(eid),
        session_id=str(sid),
        seq=int(str(seq)),
        run_id=None if run_id is None else str(run_id),
        ts=str(ts),
        kind=str(kind),
        text=None if payload is None else str(payload),
        ref=None if ref is None else str(ref),
        payload_sha256=str(digest),
        prev_hash=str(prev),
        hash=str(h),
    )
