"""The blocking half of ``SQLiteSessionLog``: SQL for sessions, events and runs.

Runs on the database's worker thread (``Database.run``). The append hot path is a prepared raw
INSERT; each session's head (seq, hash) is cached and reloaded when another writer got there first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from pydantic import JsonValue

from pyclaw.meta import (
    GENESIS_HASH,
    RunFinishedEvent,
    RunNotFoundError,
    RunRecord,
    RunStatus,
    SessionEvent,
    SessionInfo,
    SessionNotFoundError,
    StorageError,
    canonical_json,
    format_ts,
    new_id,
    utcnow,
)
from pyclaw.session._errors import RunExistsError, RunStateError, SessionExistsError
from pyclaw.session._records import PreparedPayload, StoredEvent
from pyclaw.session._seal import seal_batch
from pyclaw.session._sqlite_rows import (
    EVENT_COLUMNS,
    INSERT_EVENT,
    RUN_COLUMNS,
    SESSION_SELECT,
    run_record,
    session_info,
    stored_event,
)
from pyclaw.storage import Database

_MAX_ATTEMPTS = 100


def _is_seq_conflict(exc: sqlite3.IntegrityError) -> bool:
    return "events.session_id, events.seq" in str(exc)


class SQLiteCore:
    """Synchronous session-log operations over one ``Database`` connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._heads: dict[str, tuple[int, str]] = {}

    # -- sessions -------------------------------------------------------------------------------

    def create_session(
        self,
        *,
        agent: str,
        channel: str,
        session_id: str | None,
        title: str | None,
        external_key: str | None,
        metadata: dict[str, JsonValue] | None,
    ) -> SessionInfo:
        sid = session_id or new_id("ses")
        info = SessionInfo(
            id=sid,
            agent=agent,
            channel=channel,
            created_at=utcnow(),
            title=title,
            external_key=external_key,
            metadata=metadata or {},
        )
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO sessions (id, agent, channel, title, external_key, metadata, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        sid,
                        agent,
                        channel,
                        title,
                        external_key,
                        canonical_json(info.metadata),
                        format_ts(info.created_at),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            if "sessions.external_key" in str(exc):
                raise SessionExistsError(
                    f"a session with external key {external_key!r} already exists"
                ) from exc
            raise SessionExistsError(f"session {sid} already exists") from exc
        return info

    def get_session(self, session_id: str) -> SessionInfo:
        row = self.db.conn.execute(f"{SESSION_SELECT} WHERE s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"session {session_id} not found")
        return session_info(row)

    def find_session(self, external_key: str) -> SessionInfo | None:
        row = self.db.conn.execute(
            f"{SESSION_SELECT} WHERE s.external_key = ?", (external_key,)
        ).fetchone()
        return None if row is None else session_info(row)

    def list_sessions(
        self, limit: int, agent: str | None, channel: str | None
    ) -> list[SessionInfo]:
        rows = self.db.conn.execute(
            f"{SESSION_SELECT} WHERE (?1 IS NULL OR s.agent = ?1) AND (?2 IS NULL OR s.channel = ?2) "
            "ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?3",
            (agent, channel, limit),
        ).fetchall()
        return [session_info(row) for row in rows]

    def _require_session(self, conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(f"session {session_id} not found")

    # -- appending ------------------------------------------------------------------------------

    def _head(self, conn: sqlite3.Connection, session_id: str) -> tuple[int, str]:
        cached = self._heads.get(session_id)
        if cached is not None:
            return cached
        row = conn.execute(
            "SELECT seq, hash FROM events WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        if row is not None:
            return int(row[0]), str(row[1])
        self._require_session(conn, session_id)
        return -1, GENESIS_HASH

    def _insert(
        self,
        conn: sqlite3.Connection,
        session_id: str,
        items: Sequence[PreparedPayload],
        run_id: str | None,
    ) -> list[SessionEvent]:
        events, rows = seal_batch(session_id, self._head(conn, session_id), items, run_id)
        if len(rows) == 1:
            conn.execute(INSERT_EVENT, rows[0])
        else:
            conn.executemany(INSERT_EVENT, rows)
        return events

    def _write(
        self, body: Callable[[sqlite3.Connection], tuple[str, list[SessionEvent]]]
    ) -> list[SessionEvent]:
        """Run ``body`` in a transaction, retrying when another writer took the next seq first."""
        for _ in range(_MAX_ATTEMPTS):
            nested = self.db.conn.in_transaction
            try:
                with self.db.transaction() as conn:
                    session_id, events = body(conn)
            except sqlite3.IntegrityError as exc:
                if not _is_seq_conflict(exc):
                    raise
                self._heads.clear()
                continue
            except BaseException:
                self._heads.clear()
                raise
            if events and not nested:
                self._heads[session_id] = (events[-1].seq, events[-1].hash)
            elif nested:
                self._heads.pop(session_id, None)  # the outer transaction may still roll back
            return events
        raise StorageError(f"could not append after {_MAX_ATTEMPTS} attempts: too much contention")

    def append(
        self, session_id: str, items: Sequence[PreparedPayload], run_id: str | None
    ) -> list[SessionEvent]:
        if not items:
            with self.db.locked() as conn:
                self._require_session(conn, session_id)
            return []
        return self._write(lambda conn: (session_id, self._insert(conn, session_id, items, run_id)))

    # -- reading --------------------------------------------------------------------------------

    def read_rows(self, session_id: str, after_seq: int, limit: int | None) -> list[StoredEvent]:
        conn = self.db.conn
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, after_seq, -1 if limit is None else limit),
        ).fetchall()
        if not rows:
            self._require_session(conn, session_id)
        return [stored_event(row) for row in rows]

    def tail_rows(self, session_id: str, n: int) -> list[StoredEvent]:
        conn = self.db.conn
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
            (session_id, n),
        ).fetchall()
        if not rows:
            self._require_session(conn, session_id)
        return [stored_event(row) for row in reversed(rows)]

    def payload_refs(self) -> set[str]:
        rows = self.db.conn.execute(
            "SELECT DISTINCT payload_ref FROM events WHERE payload_ref IS NOT NULL"
        ).fetchall()
        return {str(r[0]) for r in rows}

    # -- runs -----------------------------------------------------------------------------------

    def start_run(
        self, session_id: str, agent: str, run_id: str, trigger: str | None, item: PreparedPayload
    ) -> RunRecord:
        started = utcnow()

        def body(conn: sqlite3.Connection) -> tuple[str, list[SessionEvent]]:
            self._require_session(conn, session_id)
            try:
                conn.execute(
                    "INSERT INTO runs (id, session_id, agent, status, trigger, started_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        session_id,
                        agent,
                        RunStatus.RUNNING.value,
                        trigger,
                        format_ts(started),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise RunExistsError(f"run {run_id} already exists") from exc
            return session_id, self._insert(conn, session_id, [item], run_id)

        self._write(body)
        return RunRecord(
            id=run_id,
            session_id=session_id,
            agent=agent,
            status=RunStatus.RUNNING,
            started_at=started,
            trigger=trigger,
        )

    def finish_run(self, run_id: str, item: PreparedPayload) -> RunRecord:
        """Close the run with the status, usage, cost and error of ``item`` (a ``run_finished``)."""
        done = item.payload
        if not isinstance(done, RunFinishedEvent):
            raise TypeError("finish_run needs a prepared run_finished payload")
        finished = utcnow()

        def body(conn: sqlite3.Connection) -> tuple[str, list[SessionEvent]]:
            record = self._get_run(conn, run_id)
            if record.status.terminal:
                raise RunStateError(f"run {run_id} already finished ({record.status.value})")
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, input_tokens = ?, output_tokens = ?, "
                "cached_tokens = ?, cost_usd = ?, error = ? WHERE id = ?",
                (
                    done.status.value,
                    format_ts(finished),
                    done.usage.input_tokens,
                    done.usage.output_tokens,
                    done.usage.cached_tokens,
                    done.cost_usd,
                    None if done.error is None else done.error.model_dump_json(),
                    run_id,
                ),
            )
            return record.session_id, self._insert(conn, record.session_id, [item], run_id)

        self._write(body)
        return self.get_run(run_id)

    def _get_run(self, conn: sqlite3.Connection, run_id: str) -> RunRecord:
        row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"run {run_id} not found")
        return run_record(row)

    def get_run(self, run_id: str) -> RunRecord:
        return self._get_run(self.db.conn, run_id)

    def list_runs(
        self, session_id: str | None, status: RunStatus | None, limit: int
    ) -> list[RunRecord]:
        rows = self.db.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs "
            "WHERE (?1 IS NULL OR session_id = ?1) AND (?2 IS NULL OR status = ?2) "
            "ORDER BY started_at DESC, rowid DESC LIMIT ?3",
            (session_id, None if status is None else status.value, limit),
        ).fetchall()
        return [run_record(row) for row in rows]
