"""``ScratchSessionLog``: a private in-memory ``SessionLog`` a replay writes into.

A replay must never write into the user's sessions. Each replayed case gets its own scratch log,
seeded with the recorded events that came before the turn (shared, not copied one by one, so a
1,000-turn session costs no more to seed than a short one); the replayed turn is appended after
them, hash-chained the same way a real log chains it (each payload's digest taken over exactly
the JSON a real log would store, the unchanged messages of a model request rendered only once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import JsonValue

from pyclaw.eval._json import JsonCache
from pyclaw.meta import (
    GENESIS_HASH,
    ChainReport,
    ErrorInfo,
    EventPayload,
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
    verify_chain,
)


@dataclass(slots=True)
class _Session:
    info: SessionInfo
    events: list[SessionEvent] = field(default_factory=list[SessionEvent])


class ScratchSessionLog:
    """An in-memory ``pyclaw.meta.SessionLog`` for replays (and tests). Nothing is persisted.

    ``json`` renders payloads for the hash chain; logs of one replay may share one."""

    def __init__(self, *, json: JsonCache | None = None) -> None:
        self._sessions: dict[str, _Session] = {}
        self._runs: dict[str, RunRecord] = {}
        self._json = json or JsonCache()

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
            raise UsageError(f"session {sid} already exists")
        info = SessionInfo(
            id=sid,
            agent=agent,
            channel=channel,
            created_at=utcnow(),
            title=title,
            external_key=external_key,
            metadata=dict(metadata or {}),
        )
        self._sessions[sid] = _Session(info)
        return info

    def seed(self, session_id: str, agent: str, history: Sequence[SessionEvent]) -> None:
        """Start session ``session_id`` with ``history`` (a recorded session's first events, whole
        and in order) as its past: new events continue its sequence and its hash chain."""
        if session_id in self._sessions:
            raise UsageError(f"session {session_id} already exists")
        info = SessionInfo(id=session_id, agent=agent, channel="replay", created_at=utcnow())
        self._sessions[session_id] = _Session(info, list(history))

    async def get_session(self, session_id: str) -> SessionInfo:
        s = self._get(session_id)
        last = s.events[-1].ts if s.events else None
        return s.info.model_copy(update={"event_count": len(s.events), "last_event_at": last})

    async def list_sessions(
        self, *, limit: int = 100, agent: str | None = None, channel: str | None = None
    ) -> list[SessionInfo]:
        infos = [
            await self.get_session(sid)
            for sid, s in self._sessions.items()
            if (agent is None or s.info.agent == agent)
            and (channel is None or s.info.channel == channel)
        ]
        return list(reversed(infos))[:limit]

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
        events = self._get(session_id).events[max(after_seq + 1, 0) :]
        return events if limit is None else events[:limit]

    async def tail(self, session_id: str, n: int) -> list[SessionEvent]:
        return self._get(session_id).events[-n:] if n > 0 else []

    async def verify(self, session_id: str) -> ChainReport:
        return verify_chain(session_id, self._get(session_id).events)

    async def start_run(
        self, session_id: str, *, agent: str, run_id: str | None = None, trigger: str | None = None
    ) -> RunRecord:
        self._get(session_id)
        rid = run_id or new_id("run")
        if rid in self._runs:
            raise UsageError(f"run {rid} already exists")
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
        done = record.model_copy(
            update={
                "status": status,
                "finished_at": utcnow(),
                "usage": usage or Usage(),
                "cost_usd": cost_usd or 0.0,
                "error": error,
            }
        )
        finished = RunFinishedEvent(
            run_id=run_id,
            status=status,
            usage=done.usage,
            cost_usd=done.cost_usd,
            error=error,
        )
        self._append(record.session_id, [finished], run_id)
        self._runs[run_id] = done
        return done

    async def get_run(self, run_id: str) -> RunRecord:
        try:
            return self._runs[run_id]
        except KeyError:
            raise RunNotFoundError(f"no run {run_id} in this replay") from None

    async def list_runs(
        self, *, session_id: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[RunRecord]:
        runs = [
            r
            for r in self._runs.values()
            if (session_id is None or r.session_id == session_id)
            and (status is None or r.status is status)
        ]
        return list(reversed(runs))[:limit]

    def _get(self, session_id: str) -> _Session:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotFoundError(f"no session {session_id}") from None

    def _append(
        self, session_id: str, payloads: Sequence[EventPayload], run_id: str | None
    ) -> list[SessionEvent]:
        events = self._get(session_id).events
        added: list[SessionEvent] = []
        for payload in payloads:
            prev = events[-1] if events else None
            event = SessionEvent.seal(
                session_id=session_id,
                seq=0 if prev is None else prev.seq + 1,
                payload=payload,
                prev_hash=GENESIS_HASH if prev is None else prev.hash,
                run_id=run_id,
                payload_text=self._json.payload(payload),
            )
            events.append(event)
            added.append(event)
        return added
