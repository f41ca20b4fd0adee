"""The MemoryStore conformance suite, run against every backend in this package."""

from __future__ import annotations

from pathlib import Path

from pyclaw.memory import InMemoryMemoryStore, SQLiteMemoryStore
from pyclaw.memory.testing import FakeClock, FullMemoryStore, MemoryStoreContract
from pyclaw.storage import Database


class TestSQLiteMemoryStore(MemoryStoreContract):
    async def make_store(self, tmp_path: Path, clock: FakeClock) -> FullMemoryStore:
        return SQLiteMemoryStore(Database.open(tmp_path / "pyclaw.db"), clock=clock)

    async def close_store(self, store: FullMemoryStore) -> None:
        assert isinstance(store, SQLiteMemoryStore)
        store.db.close()


class TestSQLiteMemoryStoreInMemoryDatabase(TestSQLiteMemoryStore):
    """The same suite on a ``:memory:`` database (no WAL file)."""

    async def make_store(self, tmp_path: Path, clock: FakeClock) -> FullMemoryStore:
        return SQLiteMemoryStore(Database.open(":memory:"), clock=clock)


class TestInMemoryMemoryStore(MemoryStoreContract):
    async def make_store(self, tmp_path: Path, clock: FakeClock) -> FullMemoryStore:
        return InMemoryMemoryStore(clock=clock)
