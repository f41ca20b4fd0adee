"""``SQLiteMemoryStore``: the ``MemoryStore`` contract over a ``pyclaw.storage.Database``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pyclaw.memory._ranking import Ranking
from pyclaw.memory._rules import check_limit
from pyclaw.memory._schema import MEMORY_MIGRATIONS
from pyclaw.memory._sqlite_core import MemoryCore, ensure_exp
from pyclaw.memory._text import search_terms
from pyclaw.memory._vocab import ensure_scratch
from pyclaw.meta import MemoryHit, MemoryItem, MemoryKind, utcnow
from pyclaw.storage import Database


class SQLiteMemoryStore:
    """Long-term memories in SQLite, searched with FTS5 BM25 blended with recency
    (implements ``pyclaw.meta.MemoryStore``).

    Every operation runs on the database's worker thread. ``clock`` gives "now" for expiry and
    recency (inject one in tests); ``ranking`` sets the half-life, the recency share and the kind
    weights. The schema (component ``memory``) is migrated on construction.
    """

    def __init__(
        self,
        db: Database,
        *,
        ranking: Ranking | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        db.ensure(MEMORY_MIGRATIONS)
        with db.locked() as conn:
            ensure_exp(conn)
            ensure_scratch(conn)
        self.db = db
        self.ranking = ranking or Ranking()
        self.clock = clock
        self._core = MemoryCore(db, self.ranking)

    async def add(self, item: MemoryItem) -> MemoryItem:
        """Store ``item``; the same agent + normalized text returns the existing item instead, its
        expiry extended to the later of the two (``None`` = never). Raises ``UsageError`` for blank
        text or an expiry not in the future, ``MemoryExistsError`` for a taken id."""
        return await self.db.run(self._core.add, item, self.clock())

    async def add_many(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        """``add`` each item in one transaction (all or none); returns what ``add`` would."""
        return await self.db.run(self._core.add_many, items, self.clock())

    async def get(self, item_id: str) -> MemoryItem:
        """The unexpired memory ``item_id``; raises ``MemoryNotFoundError`` (a ``NotFoundError``)."""
        return await self.db.run(self._core.get, item_id, self.clock())

    async def search(
        self,
        query: str,
        *,
        agent: str,
        limit: int = 5,
        kinds: Sequence[MemoryKind] | None = None,
    ) -> list[MemoryHit]:
        """The ``limit`` best unexpired memories of ``agent`` for ``query``, best first.

        Any text is a valid query: it is reduced to its words (stop words dropped), of which the
        rarest informative ones are OR-ed (see ``pyclaw.memory._vocab``; a query of only frequent
        words first ranks the memories holding all of them, see ``MemoryCore.search``). A query
        with no searchable word (blank, punctuation, stop words only) returns the newest
        memories, scored by recency.
        """
        check_limit(limit)
        if kinds is not None and not kinds:
            return []
        now = self.clock()
        terms = search_terms(query)
        if not terms:
            items = await self.db.run(self._core.list, agent, limit, now, kinds)
            return [MemoryHit(item=i, score=self.ranking.recency(i.created_at, now)) for i in items]
        return await self.db.run(self._core.search, terms, agent, limit, kinds, now)

    async def list(self, *, agent: str, limit: int = 100) -> list[MemoryItem]:
        """The unexpired memories of ``agent``, newest first."""
        check_limit(limit)
        return await self.db.run(self._core.list, agent, limit, self.clock())

    async def forget(self, item_id: str) -> None:
        """Delete memory ``item_id`` for good (a no-op when there is none)."""
        await self.db.run(self._core.forget, item_id)

    async def purge_expired(self) -> int:
        """Delete every expired memory; returns how many were deleted."""
        return await self.db.run(self._core.purge_expired, self.clock())
