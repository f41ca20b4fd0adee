"""Database: opening, file modes, pragmas, transactions, the worker thread and the kv table."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pyclaw.meta import Storage, StorageError
from pyclaw.storage import Database


class BoomError(Exception):
    pass


def fail_in_transaction(db: Database, body: Callable[[sqlite3.Connection], object]) -> None:
    """Run ``body`` inside ``db.transaction()`` and then raise ``BoomError``."""
    with db.transaction() as conn:
        body(conn)
        raise BoomError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_open_creates_private_file_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "home" / "nested" / "pyclaw.db"
    db = Database.open(path)
    try:
        assert path.exists()
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        assert mode(path.parent.parent) == 0o700
        db.kv_set("k", "v")
        # the WAL and shared-memory files exist while the connection is open
        wal = path.with_name("pyclaw.db-wal")
        shm = path.with_name("pyclaw.db-shm")
        assert wal.exists()
        assert shm.exists()
        assert mode(wal) == 0o600
        assert mode(shm) == 0o600
    finally:
        db.close()


def test_pragmas(tmp_path: Path) -> None:
    with Database.open(tmp_path / "x.db") as db:
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert db.conn.isolation_level is None
        assert db.path == tmp_path / "x.db"
        assert isinstance(db, Storage)


def test_memory_database() -> None:
    with Database.open(":memory:") as db:
        assert db.path is None
        db.kv_set("a", "1")
        assert db.kv_get("a") == "1"
        assert db.schema_versions() == {"storage": 1}


def test_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "pyclaw.db"
    bogus.write_text("this is a text file, not SQLite\n" * 100)
    with pytest.raises(StorageError) as info:
        Database.open(bogus)
    assert str(bogus) in str(info.value)
    assert "not a SQLite database" in str(info.value)
    assert "\n" not in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory"):
        Database.open(tmp_path)


def test_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    with Database.open(tmp_path / "t.db") as db:
        db.conn.execute("CREATE TABLE t (x INTEGER)")
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(BoomError):
            fail_in_transaction(db, lambda c: c.execute("INSERT INTO t VALUES (2)"))
        assert [r[0] for r in db.conn.execute("SELECT x FROM t")] == [1]
        assert not db.conn.in_transaction


def test_nested_transaction_uses_savepoint(tmp_path: Path) -> None:
    with Database.open(tmp_path / "t.db") as db:
        db.conn.execute("CREATE TABLE t (x INTEGER)")
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(BoomError):
                fail_in_transaction(db, lambda c: c.execute("INSERT INTO t VALUES (2)"))
            assert conn.in_transaction
            conn.execute("INSERT INTO t VALUES (3)")
        assert [r[0] for r in db.conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]


def test_transaction_is_immediate(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE takes the write lock at once: a second writer times out instead of deadlocking."""
    path = tmp_path / "t.db"
    with Database.open(path) as db:
        other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        try:
            with db.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_sqlite_utils_shares_the_connection_and_transaction(tmp_path: Path) -> None:
    with Database.open(tmp_path / "u.db") as db:
        with pytest.raises(BoomError):
            fail_in_transaction(db, lambda c: db.utils["things"].insert_all([{"id": 1}, {"id": 2}]))
        assert "things" not in db.utils.table_names()
        db.utils["things"].insert_all([{"id": 1}, {"id": 2}])
        assert db.conn.execute("SELECT count(*) FROM things").fetchone()[0] == 2


def test_script_runs_inside_a_transaction(tmp_path: Path) -> None:
    with Database.open(tmp_path / "s.db") as db:
        with pytest.raises(BoomError):
            fail_in_transaction(db, lambda c: db.script("CREATE TABLE a (x); CREATE TABLE b (y);"))
        assert "a" not in db.utils.table_names()
        assert "b" not in db.utils.table_names()


def test_kv(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    with Database.open(path) as db:
        assert db.kv_get("telegram.offset") is None
        assert db.kv_get("telegram.offset", "0") == "0"
        db.kv_set("telegram.offset", "41")
        db.kv_set("telegram.offset", "42")
        assert db.kv_get("telegram.offset") == "42"
    with Database.open(path) as db:
        assert db.kv_get("telegram.offset") == "42"
        assert db.kv_delete("telegram.offset") is True
        assert db.kv_delete("telegram.offset") is False
        assert db.kv_get("telegram.offset") is None


async def test_run_uses_one_worker_thread(tmp_path: Path) -> None:
    with Database.open(tmp_path / "r.db") as db:
        db.conn.execute("CREATE TABLE t (x INTEGER)")

        def insert(x: int) -> int:
            db.conn.execute("INSERT INTO t VALUES (?)", (x,))
            return threading.get_ident()

        idents = await asyncio.gather(*(db.run(insert, i) for i in range(50)))
        assert len(set(idents)) == 1
        assert idents[0] != threading.get_ident()
        assert db.conn.execute("SELECT count(*) FROM t").fetchone()[0] == 50


async def test_run_serializes_calls(tmp_path: Path) -> None:
    with Database.open(tmp_path / "r.db") as db:
        active = 0
        peak = 0

        def work() -> None:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            threading.Event().wait(0.002)
            active -= 1

        await asyncio.gather(*(db.run(work) for _ in range(20)))
        assert peak == 1


async def test_run_propagates_errors_and_refuses_after_close(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "c.db")

    def fail() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        await db.run(fail)
    db.close()
    db.close()  # idempotent
    assert db.closed
    with pytest.raises(StorageError, match="closed"):
        await db.run(lambda: None)
    with pytest.raises(StorageError, match="closed"):
        db.kv_get("x")


async def test_cancelled_caller_does_not_break_the_worker(tmp_path: Path) -> None:
    with Database.open(tmp_path / "c.db") as db:
        gate = threading.Event()

        def slow() -> int:
            gate.wait(5)
            return 1

        task = asyncio.create_task(db.run(slow))
        await asyncio.sleep(0.01)
        task.cancel()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.run(lambda: 2) == 2


def test_sqlite_utils_is_imported_only_when_used(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pyclaw.storage import Database\n"
        f"db = Database.open({str(tmp_path / 'lazy.db')!r})\n"
        "db.kv_set('k', 'v')\n"
        "assert 'sqlite_utils' not in sys.modules, 'opening and migrating imported sqlite_utils'\n"
        "assert db.conn.execute('PRAGMA recursive_triggers').fetchone()[0] == 1\n"
        "assert 'kv' in db.utils.table_names()\n"
        "assert db.utils is db.utils\n"
        "db.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


async def test_close_lets_queued_jobs_finish(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "q.db")
    gate = threading.Event()

    def slow(x: int) -> int:
        gate.wait(5)
        return x

    tasks = [asyncio.create_task(db.run(slow, i)) for i in range(5)]
    await asyncio.sleep(0)  # every job is queued behind the first one
    threading.Timer(0.02, gate.set).start()
    db.close()  # waits for the queue to drain
    assert await asyncio.gather(*tasks) == [0, 1, 2, 3, 4]
    with pytest.raises(StorageError, match="closed"):
        await db.run(slow, 5)


def _db_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pyclaw-db"]


async def test_the_worker_stops_when_an_unclosed_database_is_collected(tmp_path: Path) -> None:
    before = set(_db_threads())
    db = Database.open(tmp_path / "g.db")
    assert await db.run(lambda: 7) == 7
    (worker,) = set(_db_threads()) - before
    assert worker.daemon  # never holds up interpreter exit
    db.conn.close()
    del db
    gc.collect()
    worker.join(5)
    assert not worker.is_alive()


async def test_a_job_running_when_the_caller_is_cancelled_still_completes(tmp_path: Path) -> None:
    with Database.open(tmp_path / "k.db") as db:
        db.conn.execute("CREATE TABLE t (x INTEGER)")
        started = threading.Event()

        def insert() -> None:
            started.set()
            threading.Event().wait(0.02)
            db.conn.execute("INSERT INTO t VALUES (1)")

        task = asyncio.create_task(db.run(insert))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.run(lambda: db.conn.execute("SELECT count(*) FROM t").fetchone()[0]) == 1
