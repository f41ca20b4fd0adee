"""The fixtures and helpers under the ``MemoryStoreContract`` test classes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest
import pytest_asyncio

from pyclaw.memory.testing._clock import FakeClock
from pyclaw.meta import MemoryItem, MemoryKind, MemoryStore


@runtime_checkable
class FullMemoryStore(MemoryStore, Protocol):
    """A ``MemoryStore`` plus the extras both backends here have: batch add and purging."""

    async def add_many(self, items: Sequence[MemoryItem]) -> list[MemoryItem]: ...

    async def purge_expired(self) -> int: ...


class ContractBase(ABC):
    """Fixtures (``clock``, ``store``) and the ``remember`` helper shared by the contract parts."""

    @abstractmethod
    async def make_store(self, tmp_path: Path, clock: FakeClock) -> FullMemoryStore:
        """A fresh, empty store that reads "now" from ``clock`` (``tmp_path`` is private to the test)."""

    async def close_store(self, store: FullMemoryStore) -> None:
        """Release what ``make_store`` opened (nothing by default)."""
        return

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest_asyncio.fixture
    async def store(self, tmp_path: Path, clock: FakeClock) -> AsyncIterator[FullMemoryStore]:
        made = await self.make_store(tmp_path, clock)
        assert isinstance(made, MemoryStore)
        try:
            yield made
        finally:
            await self.close_store(made)

    @staticmethod
    async def remember(
        store: FullMemoryStore,
        clock: FakeClock,
        text: str,
        *,
        agent: str = "main",
        kind: MemoryKind = "fact",
        ttl: timedelta | None = None,
        tags: tuple[str, ...] = (),
    ) -> MemoryItem:
        """Add a memory created "now" by ``clock``, expiring after ``ttl`` when given."""
        now = clock()
        item = MemoryItem(
            agent=agent,
            kind=kind,
            text=text,
            tags=tags,
            created_at=now,
            expires_at=None if ttl is None else now + ttl,
        )
        return await store.add(item)
