"""SQLiteSessionLog specifics: append-only triggers, offloading, tampering, retries, redaction."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pyclaw.meta import (
    ArtifactCorruptError,
    ArtifactNotFoundError,
    NoteEvent,
    RunStatus,
    SessionLog,
    StorageError,
    ToolResult,
    ToolResultEvent,
    payload_json,
    sha256_hex,
)
from pyclaw.session import INTERRUPTED, SESSION_MIGRATIONS, InMemorySessionLog, SQLiteSessionLog
from pyclaw.session.testing import MemoryArtifactStore, assert_linked
from pyclaw.storage import Database


def raw_connection(log: SQLiteSessionLog) -> sqlite3.Connection:
    """A second, plain connection to the log's file with the append-only triggers dropped:
    what someone editing the database behind PyClaw's back would do."""
    assert log.db.path is not None
    conn = sqlite3.connect(log.db.path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return conn


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[SQLiteSessionLog]:
    db = Database.open(tmp_path / "pyclaw.db")
    yield SQLiteSessionLog(db)
    db.close()


async def new_session(log: SessionLog) -> str:
    return (await log.create_session(agent="main", channel="cli")).id


def notes(n: int) -> list[NoteEvent]:
    return [NoteEvent(text=f"note {i}") for i in range(n)]


async def test_schema_is_migrated_on_construction(log: SQLiteSessionLog) -> None:
    assert log.db.schema_versions()["session"] == SESSION_MIGRATIONS.latest
    assert {"sessions", "events", "runs"} <= set(log.db.utils.table_names())
    assert {"v_events", "v_turns", "v_tool_calls", "v_llm_calls"} <= set(log.db.utils.view_names())


async def test_events_are_append_only(log: SQLiteSessionLog) -> None:
    sid = await new_session(log)
    await log.append_many(sid, notes(2))
    with pytest.raises(sqlite3.IntegrityError, match="session events are append-only"):
        log.db.conn.execute("UPDATE events SET payload = '{}' WHERE seq = 0")
    with pytest.raises(sqlite3.IntegrityError, match="session events are append-only"):
        log.db.conn.execute("DELETE FROM events WHERE seq = 1")
    assert len(await log.read(sid)) == 2


async def test_stored_text_is_exactly_what_is_hashed(log: SQLiteSessionLog) -> None:
    sid = await new_session(log)
    event = await log.append(sid, NoteEvent(text="ünïcode ✓"))
    text, digest = log.db.conn.execute("SELECT payload, payload_sha256 FROM events").fetchone()
    assert text == payload_json(NoteEvent(text="ünïcode ✓"))
    assert digest == sha256_hex(text) == event.payload_sha256


async def test_header_edit_and_reorder_are_detected(log: SQLiteSessionLog) -> None:
    sid = await new_session(log)
    events = await log.append_many(sid, notes(4))
    conn = raw_connection(log)
    conn.execute("UPDATE events SET run_id = 'run_forged' WHERE seq = 1")
    report = await log.verify(sid)
    assert [(p.seq, p.problem) for p in report.problems] == [(1, "event hash mismatch")]
    conn.execute("UPDATE events SET run_id = NULL WHERE seq = 1")
    assert (await log.verify(sid)).ok
    # swap seq 2 and 3
    conn.execute("UPDATE events SET seq = 99 WHERE seq = 2")
    conn.execute("UPDATE events SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE events SET seq = 3 WHERE seq = 99")
    conn.close()
    report = await log.verify(sid)
    assert not report.ok
    assert {p.event_id for p in report.problems} == {events[2].id, events[3].id}
    assert any("prev_hash" in p.problem for p in report.problems)


async def test_kind_and_timestamp_edits_are_detected(log: SQLiteSessionLog) -> None:
    sid = await new_session(log)
    await log.append_many(sid, notes(3))
    conn = raw_connection(log)
    conn.execute("UPDATE events SET kind = 'error' WHERE seq = 0")
    ts = conn.execute("SELECT ts FROM events WHERE seq = 2").fetchone()[0]
    # the same instant written differently still counts as an edit of the stored bytes
    conn.execute("UPDATE events SET ts = ? WHERE seq = 2", (ts.replace("+00:00", "Z"),))
    conn.execute("UPDATE events SET ts = 'garbage' WHERE seq = 1")
    conn.close()
    report = await log.verify(sid)
    problems = {(p.seq, p.problem) for p in report.problems}
    assert (0, "event hash mismatch") in problems
    assert (1, "unreadable timestamp") in problems
    assert (2, "timestamp not in canonical form") in problems


async def test_append_many_is_all_or_nothing(log: SQLiteSessionLog) -> None:
    sid = await new_session(log)
    await log.append(sid, NoteEvent(text="before"))
    log.db.conn.execute(
        "CREATE TRIGGER fail_on_boom BEFORE INSERT ON events "
        "WHEN json_extract(NEW.payload, '$.text') = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
    )
    batch = [NoteEvent(text="one"), NoteEvent(text="two"), NoteEvent(text="boom")]
    with pytest.raises(sqlite3.IntegrityError, match="simulated failure"):
        await log.append_many(sid, batch)
    assert [e.seq for e in await log.read(sid)] == [0]
    log.db.conn.execute("DROP TRIGGER fail_on_boom")
    after = await log.append(sid, NoteEvent(text="after"))
    assert after.seq == 1  # the cached head did not advance past the rolled-back batch
    assert (await log.verify(sid)).ok


async def test_two_logs_on_one_file_share_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    db_a, db_b = Database.open(path), Database.open(path)
    try:
        a, b = SQLiteSessionLog(db_a), SQLiteSessionLog(db_b)
        sid = await new_session(a)
        for i in range(20):
            writer = a if i % 3 else b
            if i % 5 == 0:
                await writer.append_many(sid, [NoteEvent(text=f"{i}a"), NoteEvent(text=f"{i}b")])
            else:
                await writer.append(sid, NoteEvent(text=str(i)))
        # and truly concurrently, each with its own worker thread and connection
        await asyncio.gather(
            *((a if i % 2 else b).append(sid, NoteEvent(text=f"c{i}")) for i in range(40))
        )
        for log in (a, b):
            events = await log.read(sid)
            assert len(events) == 24 + 40
            assert_linked(events)
            assert (await log.verify(sid)).ok
    finally:
        db_a.close()
        db_b.close()


async def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path) as db:
        log = SQLiteSessionLog(db)
        sid = await new_session(log)
        first = await log.append_many(sid, notes(3))
    with Database.open(path, migrations=[SESSION_MIGRATIONS]) as db:
        log = SQLiteSessionLog(db)
        assert await log.read(sid) == first
        nxt = await log.append(sid, NoteEvent(text="later"))
        assert (nxt.seq, nxt.prev_hash) == (3, first[-1].hash)
        assert (await log.verify(sid)).ok


async def test_find_session_by_external_key(log: SQLiteSessionLog) -> None:
    made = await log.create_session(agent="main", channel="telegram", external_key="tg:7")
    await log.append(made.id, NoteEvent(text="x"))
    found = await log.find_session("tg:7")
    assert found is not None
    assert found.id == made.id
    assert found.event_count == 1
    assert await log.find_session("tg:8") is None


# -- offloading to an artifact store -------------------------------------------------------------


@pytest.fixture
async def offloading(tmp_path: Path) -> AsyncIterator[tuple[SQLiteSessionLog, MemoryArtifactStore]]:
    db = Database.open(tmp_path / "pyclaw.db")
    store = MemoryArtifactStore()
    yield SQLiteSessionLog(db, artifacts=store, inline_limit=1024), store
    db.close()


def big_result(size: int = 5000) -> ToolResultEvent:
    return ToolResultEvent(result=ToolResult(call_id="c1", name="read_file", content="x" * size))


async def test_large_payload_goes_to_the_artifact_store(
    offloading: tuple[SQLiteSessionLog, MemoryArtifactStore],
) -> None:
    log, store = offloading
    sid = await new_session(log)
    small = await log.append(sid, NoteEvent(text="small"))
    big = await log.append(sid, big_result())
    rows = log.db.conn.execute("SELECT payload, payload_ref FROM events ORDER BY seq").fetchall()
    assert rows[0] == (payload_json(small.payload), None)
    assert rows[1] == (None, big.payload_sha256)
    assert store.blobs[big.payload_sha256] == payload_json(big_result()).encode()
    assert await log.read(sid) == [small, big]
    assert (await log.tail(sid, 1))[0].payload == big_result()
    assert log.payload_refs() == {big.payload_sha256}
    assert (await log.verify(sid)).ok


async def test_corrupt_or_missing_payload_artifact(
    offloading: tuple[SQLiteSessionLog, MemoryArtifactStore],
) -> None:
    log, store = offloading
    sid = await new_session(log)
    big = await log.append(sid, big_result())
    store.blobs[big.payload_sha256] = b'{"kind":"note","text":"forged"}'
    with pytest.raises(ArtifactCorruptError):
        await log.read(sid)
    report = await log.verify(sid)
    assert (0, "payload artifact is corrupt") in [(p.seq, p.problem) for p in report.problems]
    del store.blobs[big.payload_sha256]
    with pytest.raises(ArtifactNotFoundError):
        await log.read(sid)
    report = await log.verify(sid)
    assert (0, "payload artifact is missing") in [(p.seq, p.problem) for p in report.problems]


async def test_an_append_takes_one_trip_to_the_worker_unless_it_offloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        store = MemoryArtifactStore()
        log = SQLiteSessionLog(db, artifacts=store, inline_limit=1000)
        sid = await new_session(log)
        trips: list[str] = []
        run = db.run

        async def counted(fn: Any, *args: Any) -> Any:
            trips.append(getattr(fn, "__name__", "?"))
            return await run(fn, *args)

        monkeypatch.setattr(db, "run", counted)
        small = await log.append_many(sid, notes(3))
        assert len(trips) == 1
        assert [e.seq for e in small] == [0, 1, 2]
        trips.clear()
        mixed = await log.append_many(sid, [NoteEvent(text="small"), big_result(2000)])
        assert len(trips) == 2  # prepared first, then appended once the big text is stored
        assert [e.seq for e in mixed] == [3, 4]
        assert len(store.blobs) == 1
        assert await log.read(sid, after_seq=2) == mixed


@pytest.mark.parametrize("char", ["x", "é", "🎉"])
async def test_the_inline_limit_counts_utf8_bytes(char: str, tmp_path: Path) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        log = SQLiteSessionLog(db, artifacts=MemoryArtifactStore(), inline_limit=1000)
        sid = await new_session(log)
        frame = len(payload_json(NoteEvent(text="")).encode())
        width = len(char.encode())
        fits = NoteEvent(text=char * ((1000 - frame) // width))
        over = NoteEvent(text=fits.text + "x" * (1000 - frame - len(fits.text) * width + 1))
        assert len(payload_json(fits).encode()) <= 1000 < len(payload_json(over).encode())
        await log.append_many(sid, [fits, over])
        rows = log.db.conn.execute("SELECT payload_ref FROM events ORDER BY seq").fetchall()
        assert [ref is None for (ref,) in rows] == [True, False]


async def test_offloaded_rows_without_an_artifact_store(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path) as db:
        writer = SQLiteSessionLog(db, artifacts=MemoryArtifactStore(), inline_limit=10)
        sid = await new_session(writer)
        await writer.append(sid, big_result(100))
        reader = SQLiteSessionLog(db)
        with pytest.raises(StorageError, match="has no artifact store"):
            await reader.read(sid)
        report = await reader.verify(sid)
        assert not report.ok


# -- redaction -------------------------------------------------------------------------------------


class SecretRedactor:
    def redact(self, text: str) -> str:
        return text.replace("hunter2", "[REDACTED]")


class BreakingRedactor:
    def redact(self, text: str) -> str:
        return text.replace("hunter2", '"')


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
async def test_redaction_before_write(tmp_path: Path, backend: str) -> None:
    db = Database.open(tmp_path / "pyclaw.db")
    log: SessionLog = (
        SQLiteSessionLog(db, redactor=SecretRedactor())
        if backend == "sqlite"
        else InMemorySessionLog(redactor=SecretRedactor())
    )
    try:
        sid = await new_session(log)
        event = await log.append(sid, NoteEvent(text="password is hunter2"))
        assert event.payload == NoteEvent(text="password is [REDACTED]")
        assert (await log.read(sid))[0].payload == NoteEvent(text="password is [REDACTED]")
        assert (await log.verify(sid)).ok
        if backend == "sqlite":
            dump = "\n".join(db.conn.iterdump())
            assert "hunter2" not in dump
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
async def test_redaction_that_breaks_the_payload_is_refused(tmp_path: Path, backend: str) -> None:
    db = Database.open(tmp_path / "pyclaw.db")
    log: SessionLog = (
        SQLiteSessionLog(db, redactor=BreakingRedactor())
        if backend == "sqlite"
        else InMemorySessionLog(redactor=BreakingRedactor())
    )
    try:
        sid = await new_session(log)
        with pytest.raises(StorageError, match="redaction made a 'note' payload invalid"):
            await log.append_many(sid, [NoteEvent(text="fine"), NoteEvent(text="hunter2")])
        assert await log.read(sid) == []
    finally:
        db.close()


# -- crash recovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
async def test_mark_interrupted_closes_running_runs(tmp_path: Path, backend: str) -> None:
    db = Database.open(tmp_path / "pyclaw.db")
    log = SQLiteSessionLog(db) if backend == "sqlite" else InMemorySessionLog()
    try:
        sid = await new_session(log)
        crashed = await log.start_run(sid, agent="main")
        done = await log.start_run(sid, agent="main")
        await log.finish_run(done.id, status=RunStatus.SUCCEEDED)
        closed = await log.mark_interrupted()
        assert [r.id for r in closed] == [crashed.id]
        assert closed[0].status is RunStatus.INTERRUPTED
        assert closed[0].error == INTERRUPTED
        assert (await log.get_run(done.id)).status is RunStatus.SUCCEEDED
        last = (await log.read(sid))[-1]
        assert last.run_id == crashed.id
        assert last.kind == "run_finished"
        assert await log.mark_interrupted() == []
        assert (await log.verify(sid)).ok
    finally:
        db.close()
