"""``InMemoryMemoryStore``: the ``MemoryStore`` contract in a dict, for tests and small tools."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from pyclaw.memory._errors import MemoryExistsError, MemoryNotFoundError
from pyclaw.memory._ranking import Ranking, longer_expiry
from pyclaw.memory._rules import check_limit, dedupe_key, is_live
from pyclaw.memory._text import fold_diacritics, search_terms, words
from pyclaw.memory._vocab import MAX_SEARCH_TERMS
from pyclaw.meta import MemoryHit, MemoryItem, MemoryKind, utcnow


def _tokens(item: MemoryItem) -> frozenset[str]:
    return frozenset(fold_diacritics(w) for w in words(" ".join((item.text, *item.tags))))


class InMemoryMemoryStore:
    """Memories in process memory, scored by token overlap blended with recency.

    Same behaviour as ``SQLiteMemoryStore`` (dedupe, expiry, isolation, query handling, the choice
    of informative query words) with a simpler relevance: the number of distinct query words a memory contains (exact words, after
    casefolding and removing diacritics; no stemming), divided by the square root of its word count.
    """

    def __init__(
        self, *, ranking: Ranking | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.ranking = ranking or Ranking()
        self.clock = clock
        self._items: dict[str, MemoryItem] = {}
        self._keys: dict[tuple[str, str], str] = {}  # (agent, dedupe key) -> id
        self._key_of: dict[str, tuple[str, str]] = {}  # id -> (agent, dedupe key)
        self._tokens: dict[str, frozenset[str]] = {}

    async def add(self, item: MemoryItem) -> MemoryItem:
        now = self.clock()
        key = (item.agent, dedupe_key(item, now))
        existing_id = self._keys.get(key)
        if existing_id is not None:
            existing = self._items[existing_id]
            if is_live(existing, now):
                extended = longer_expiry(existing.expires_at, item.expires_at)
                if extended != existing.expires_at:
                    existing = existing.model_copy(update={"expires_at": extended})
                    self._items[existing.id] = existing
                return existing
            self._drop(existing_id)
        if item.id in self._items:
            raise MemoryExistsError(f"memory {item.id} already exists with a different text")
        self._items[item.id] = item
        self._keys[key] = item.id
        self._key_of[item.id] = key
        self._tokens[item.id] = _tokens(item)
        return item

    async def add_many(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        """``add`` each item; all or none (nothing is stored if one is refused)."""
        saved = (dict(self._items), dict(self._keys), dict(self._key_of), dict(self._tokens))
        try:
            return [await self.add(item) for item in items]
        except BaseException:
            self._items, self._keys, self._key_of, self._tokens = saved
            raise

    async def get(self, item_id: str) -> MemoryItem:
        item = self._items.get(item_id)
        if item is None or not is_live(item, self.clock()):
            raise MemoryNotFoundError(f"memory {item_id} not found")
        return item

    async def search(
        self,
        query: str,
        *,
        agent: str,
        limit: int = 5,
        kinds: Sequence[MemoryKind] | None = None,
    ) -> list[MemoryHit]:
        check_limit(limit)
        now = self.clock()
        candidates = [
            item for item in self._live(agent, now) if kinds is None or item.kind in kinds
        ]
        words = [fold_diacritics(t) for t in search_terms(query)]
        if not words:
            return [
                MemoryHit(item=item, score=self.ranking.recency(item.created_at, now))
                for item in candidates[:limit]
            ]
        terms = self._informative(words)
        hits: list[MemoryHit] = []
        for item in candidates:
            tokens = self._tokens[item.id]
            matched = len(terms & tokens)
            if matched:
                relevance = matched / math.sqrt(len(tokens))
                score = self.ranking.score(relevance, item.kind, item.created_at, now)
                hits.append(MemoryHit(item=item, score=score))
        hits.sort(key=lambda h: (h.score, h.item.created_at, h.item.id), reverse=True)
        return hits[:limit]

    async def list(self, *, agent: str, limit: int = 100) -> list[MemoryItem]:
        check_limit(limit)
        return self._live(agent, self.clock())[:limit]

    async def forget(self, item_id: str) -> None:
        self._drop(item_id)

    async def purge_expired(self) -> int:
        """Delete every expired memory; returns how many were deleted."""
        now = self.clock()
        expired = [i for i, item in self._items.items() if not is_live(item, now)]
        for item_id in expired:
            self._drop(item_id)
        return len(expired)

    def _informative(self, words: list[str]) -> set[str]:
        """The words worth matching, by the same rule as ``SQLiteMemoryStore`` (``_vocab``): words
        in no memory are dropped, words in half or more of all memories too unless nothing else is
        left, and of the rest the ``MAX_SEARCH_TERMS`` rarest are kept."""
        total = len(self._tokens)
        counted = [(sum(w in t for t in self._tokens.values()), w) for w in dict.fromkeys(words)]
        present = [(f, w) for f, w in counted if f > 0]
        informative = [(f, w) for f, w in present if 2 * f < total] or present
        return {w for _, w in sorted(informative)[:MAX_SEARCH_TERMS]}

    def _live(self, agent: str, now: datetime) -> list[MemoryItem]:
        """The unexpired memories of ``agent``, newest first."""
        items = [i for i in self._items.values() if i.agent == agent and is_live(i, now)]
        items.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        return items

    def _drop(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        del self._tokens[item_id]
        del self._keys[self._key_of.pop(item_id)]
