"""The SessionLog conformance suite, run against every backend in this package."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from pyclaw.meta import SessionLog
from pyclaw.session import InMemorySessionLog, SQLiteSessionLog
from pyclaw.session.testing import (
    MemoryArtifactStore,
    SessionLogContract,
    TamperAction,
    sample_payloads,
)
from pyclaw.storage import Database


def raw_connection(log: SQLiteSessionLog) -> sqlite3.Connection:
    """A second, plain connection to the log's file with the append-only triggers dropped:
    what someone editing the database behind PyClaw's back would do."""
    assert log.db.path is not None
    conn = sqlite3.connect(log.db.path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return conn


class TestSQLiteSessionLog(SessionLogContract):
    async def make_log(self, tmp_path: Path) -> SessionLog:
        return SQLiteSessionLog(Database.open(tmp_path / "pyclaw.db"))

    async def close_log(self, log: SessionLog) -> None:
        assert isinstance(log, SQLiteSessionLog)
        log.db.close()

    async def tamper(
        self,
        log: SessionLog,
        session_id: str,
        seq: int,
        *,
        action: TamperAction,
        payload_text: str = "",
    ) -> None:
        assert isinstance(log, SQLiteSessionLog)
        conn = raw_connection(log)
        try:
            if action == "delete":
                conn.execute(
                    "DELETE FROM events WHERE session_id = ? AND seq = ?", (session_id, seq)
                )
            else:
                conn.execute(
                    "UPDATE events SET payload = ?, payload_ref = NULL "
                    "WHERE session_id = ? AND seq = ?",
                    (payload_text, session_id, seq),
                )
        finally:
            conn.close()


class TestSQLiteSessionLogWithOffload(TestSQLiteSessionLog):
    """Same suite with most payloads moved to an artifact store (tiny inline limit)."""

    async def make_log(self, tmp_path: Path) -> SessionLog:
        self.artifacts = MemoryArtifactStore()
        return SQLiteSessionLog(
            Database.open(tmp_path / "pyclaw.db"), artifacts=self.artifacts, inline_limit=120
        )

    async def test_large_payloads_really_are_offloaded(self, log: SessionLog) -> None:
        assert isinstance(log, SQLiteSessionLog)
        session = await log.create_session(agent="main", channel="cli")
        events = await log.append_many(session.id, sample_payloads())
        stored = log.db.conn.execute(
            "SELECT payload IS NULL, payload_ref, payload_sha256 FROM events ORDER BY seq"
        ).fetchall()
        offloaded = [(ref, digest) for is_null, ref, digest in stored if is_null]
        assert 0 < len(offloaded) < len(events)
        assert all(ref == digest for ref, digest in offloaded)
        assert set(self.artifacts.blobs) == {ref for ref, _ in offloaded}


class TestInMemorySessionLog(SessionLogContract):
    async def make_log(self, tmp_path: Path) -> SessionLog:
        return InMemorySessionLog()

    async def tamper(
        self,
        log: SessionLog,
        session_id: str,
        seq: int,
        *,
        action: TamperAction,
        payload_text: str = "",
    ) -> None:
        assert isinstance(log, InMemorySessionLog)
        rows = log._stored[session_id]  # pyright: ignore[reportPrivateUsage]
        index = next(i for i, row in enumerate(rows) if row.seq == seq)
        log._parsed.pop(rows[index].id, None)  # pyright: ignore[reportPrivateUsage]
        if action == "delete":
            del rows[index]
        else:
            rows[index] = dataclasses.replace(rows[index], text=payload_text)
