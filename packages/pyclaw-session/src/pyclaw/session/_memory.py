"""``InMemorySessionLog``: the ``SessionLog`` contract in process memory, for tests and libraries."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import JsonValue

from pyclaw.meta import (
    GENESIS_HASH,
    ChainReport,
    ErrorInfo,
    EventPayload,
    Redactor,
    RunFinishedEvent,
    RunNotFoundError,
    RunRecord,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    SessionInfo,
    SessionNotFoundError,
    Usage,
    UsageError,
    new_id,
    utcnow,
)
from pyclaw.session._errors import RunExistsError, RunStateError, SessionExistsError
from pyclaw.session._prepare import prepare
from pyclaw.session._records import INTERRUPTED, StoredEvent
from pyclaw.session._render import PayloadRenderer
from pyclaw.session._verify import verify_stored


class InMemorySessionLog:
    """A ``SessionLog`` kept in memory with the same semantics as ``SQLiteSessionLog``.

    Events are stored as their exact text and hash-chained the same way, so ``verify`` means the
    same thing. Nothing survives the process. Every method completes without yielding to the event
    loop in the middle, so concurrent appends are serialized.
    """

    def __init__(self, *, redactor: Redactor | None = None) -> None:
        self.redactor = redactor
        self._sessions: dict[str, SessionInfo] = {}
        self._keys: dict[str, str] = {}
        self._stored: dict[str, list[StoredEvent]] = {}
        self._parsed: dict[str, SessionEvent] = {}
        self._runs: dict[str, RunRecord] = {}
        self._render = PayloadRenderer().render

    # -- sessions -------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        agent: str,
        channel: str,
        session_id: str | None = None,
        title: str | None = None,
        external_key: str | None = None,
        metadata: dict[str, JsonValue] | None = None,
    ) -> SessionInfo:
        sid = session_id or new_id("ses")
        if sid in self._sessions:
            raise SessionExistsError(f"session {sid} already exists")
        if external_key is not None and external_key in self._keys:
            raise SessionExistsError(f"a session with external key {external_key!r} already exists")
        info = SessionInfo(
            id=sid,
            agent=agent,
            channel=channel,
            created_at=utcnow(),
            title=title,
            external_key=external_key,
            metadata=metadata or {},
        )
        self._sessions[sid] = info
        self._stored[sid] = []
        if external_key is not None:
            self._keys[external_key] = sid
        return info

    def _info(self, session_id: str) -> SessionInfo:
        info = self._sessions.get(session_id)
        if info is None:
            raise SessionNotFoundError(f"session {session_id} not found")
        rows = self._stored[session_id]
        if not rows:
            return info
        last = rows[-1]
        return info.model_copy(
            update={"event_count": last.seq + 1, "last_event_at": self._event(last).ts}
        )

    async def get_session(self, session_id: str) -> SessionInfo:
        return self._info(session_id)

    async def find_session(self, external_key: str) -> SessionInfo | None:
        sid = self._keys.get(external_key)
        return None if sid is None else self._info(sid)

    async def list_sessions(
        self, *, limit: int = 100, agent: str | None = None, channel: str | None = None
    ) -> list[SessionInfo]:
        _check_limit(limit)
        found = [
            s
            for s in reversed(self._sessions.values())
            if (agent is None or s.agent == agent) and (channel is None or s.channel == channel)
        ]
        found.sort(
            key=lambda s: s.created_at, reverse=True
        )  # stable: later insertion first on ties
        return [self._info(s.id) for s in found[:limit]]

    # -- events ---------------------------------------------------------------------------------

    def _rows(self, session_id: str) -> list[StoredEvent]:
        rows = self._stored.get(session_id)
        if rows is None:
            raise SessionNotFoundError(f"session {session_id} not found")
        return rows

    def _event(self, row: StoredEvent) -> SessionEvent:
        event = self._parsed.get(row.id)
        if event is None:
            event = self._parsed[row.id] = row.to_event()
        return event

    def _append(
        self, session_id: str, payloads: Sequence[EventPayload], run_id: str | None
    ) -> list[SessionEvent]:
        rows = self._rows(session_id)
        # may raise: nothing written yet
        items = [prepare(p, self.redactor, self._render) for p in payloads]
        seq, prev = (rows[-1].seq, rows[-1].hash) if rows else (-1, GENESIS_HASH)
        events: list[SessionEvent] = []
        for item in items:
            seq += 1
            event = SessionEvent.seal(
                session_id=session_id,
                seq=seq,
                payload=item.payload,
                prev_hash=prev,
                run_id=run_id,
                payload_text=item.text,
            )
            events.append(event)
            prev = event.hash
        for event, item in zip(events, items, strict=True):
            row = StoredEvent.from_event(event, item)
            rows.append(row)
            self._parsed[row.id] = event
        return events

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> SessionEvent:
        return self._append(session_id, [payload], run_id)[0]

    async def append_many(
        self, session_id: str, payloads: Sequence[EventPayload], *, run_id: str | None = None
    ) -> list[SessionEvent]:
        return self._append(session_id, payloads, run_id)

    async def read(
        self, session_id: str, *, after_seq: int = -1, limit: int | None = None
    ) -> list[SessionEvent]:
        rows = [r for r in self._rows(session_id) if r.seq > after_seq]
        if limit is not None:
            rows = rows[: _check_limit(limit)]
        return [self._event(r) for r in rows]

    async def tail(self, session_id: str, n: int) -> list[SessionEvent]:
        rows = self._rows(session_id)
        start = max(0, len(rows) - _check_limit(n))
        return [self._event(r) for r in rows[start:]]

    async def verify(self, session_id: str) -> ChainReport:
        rows = self._rows(session_id)
        return verify_stored(session_id, rows, [r.text or "" for r in rows])

    # -- runs -----------------------------------------------------------------------------------

    async def start_run(
        self, session_id: str, *, agent: str, run_id: str | None = None, trigger: str | None = None
    ) -> RunRecord:
        self._rows(session_id)
        rid = run_id or new_id("run")
        if rid in self._runs:
            raise RunExistsError(f"run {rid} already exists")
        record = RunRecord(
            id=rid,
            session_id=session_id,
            agent=agent,
            status=RunStatus.RUNNING,
            started_at=utcnow(),
            trigger=trigger,
        )
        self._append(session_id, [RunStartedEvent(run_id=rid, agent=agent, trigger=trigger)], rid)
        self._runs[rid] = record
        return record

    async def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        usage: Usage | None = None,
        cost_usd: float | None = None,
        error: ErrorInfo | None = None,
    ) -> RunRecord:
        if not status.terminal:
            raise UsageError(f"finish_run needs a terminal status, not {status.value!r}")
        record = await self.get_run(run_id)
        if record.status.terminal:
            raise RunStateError(f"run {run_id} already finished ({record.status.value})")
        used = usage or Usage()
        cost = 0.0 if cost_usd is None else cost_usd
        payload = RunFinishedEvent(
            run_id=run_id, status=status, usage=used, cost_usd=cost, error=error
        )
        self._append(record.session_id, [payload], run_id)
        done = record.model_copy(
            update={
                "status": status,
                "finished_at": utcnow(),
                "usage": used,
                "cost_usd": cost,
                "error": error,
            }
        )
        self._runs[run_id] = done
        return done

    async def get_run(self, run_id: str) -> RunRecord:
        record = self._runs.get(run_id)
        if record is None:
            raise RunNotFoundError(f"run {run_id} not found")
        return record

    async def list_runs(
        self, *, session_id: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[RunRecord]:
        _check_limit(limit)
        found = [
            r
            for r in reversed(self._runs.values())
            if (session_id is None or r.session_id == session_id)
            and (status is None or r.status is status)
        ]
        found.sort(key=lambda r: r.started_at, reverse=True)
        return found[:limit]

    async def mark_interrupted(self) -> list[RunRecord]:
        """Close every run still ``running`` as ``interrupted`` (see ``SQLiteSessionLog``)."""
        running = [r for r in self._runs.values() if r.status is RunStatus.RUNNING]
        return [
            await self.finish_run(r.id, status=RunStatus.INTERRUPTED, error=INTERRUPTED)
            for r in running
        ]


def _check_limit(value: int) -> int:
    if value < 0:
        raise UsageError(f"limit must be >= 0, not {value}")
    return value
