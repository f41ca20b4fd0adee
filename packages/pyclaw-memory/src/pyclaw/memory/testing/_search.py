"""The search half of the ``MemoryStoreContract``: relevance, recency, kinds and hostile queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pyclaw.memory.testing._base import ContractBase, FullMemoryStore
from pyclaw.memory.testing._clock import FakeClock
from pyclaw.meta import MemoryItem

Store = FullMemoryStore

HOSTILE_QUERIES: tuple[str, ...] = (
    '"coffee',
    'coffee"',
    '"coffee"',
    'cof"fee coffee',
    "coffee*",
    "*coffee",
    "NEAR(coffee tea)",
    "NEAR(coffee",
    "NEAR(coffee, 2)",
    "coffee AND OR NOT",
    "AND OR coffee",
    "coffee NOT",
    "text:coffee",
    "tags:coffee",
    "{text tags}: coffee",
    "-text:coffee",
    "(coffee",
    "coffee)))",
    "((coffee) OR",
    "^coffee",
    "coffee + tea",
    "coffee' OR 1=1 --",
    "coffee; DROP TABLE memories; --",
    "coffee\x00tea",
    "☕ coffee 🎉👍🏽",
    "coffee " + "x" * 10_000,
    '"' * 101 + "coffee",
    "coffee " + 'NEAR( " * : ^ ) ' * 700,
    "coffee " + " ".join(f"word{i}" for i in range(2_000)),
)
"""Queries full of FTS5 syntax (all containing the word ``coffee``, some over 10 KB): each must be
taken as plain words: no error, and the memory about coffee is found."""

SYNTAX_ONLY_QUERIES: tuple[str, ...] = (
    '"',
    '""',
    "*",
    "NEAR(",
    "AND OR",
    "col:",
    ")",
    "(((",
    "^",
    "-",
    ":",
    "{}",
    "\x00",
    "🙂",
    '"' * 10_000,
)
"""Queries that are nothing but FTS5 syntax: each must return a list, never raise."""


class SearchContract(ContractBase):
    """Search behaviour of every ``MemoryStore``."""

    async def test_search_finds_matching_items_only(self, store: Store, clock: FakeClock) -> None:
        tea = await self.remember(store, clock, "Alice drinks green tea every morning")
        await self.remember(store, clock, "The server backup runs at 3am")
        hits = await store.search("what tea does Alice like?", agent="main")
        assert [h.item.id for h in hits] == [tea.id]
        assert hits[0].item == tea
        assert await store.search("kubernetes cluster", agent="main") == []

    async def test_more_relevant_beats_newer_less_relevant(
        self, store: Store, clock: FakeClock
    ) -> None:
        both = await self.remember(store, clock, "likes coffee with espresso beans")
        clock.advance(days=1)
        one = await self.remember(store, clock, "likes coffee with oat milk")
        hits = await store.search("espresso coffee", agent="main")
        assert [h.item.id for h in hits] == [both.id, one.id]
        assert hits[0].score > hits[1].score > 0

    async def test_equal_relevance_newer_wins(self, store: Store, clock: FakeClock) -> None:
        old = await self.remember(store, clock, "user likes jam")
        clock.advance(days=3)
        new = await self.remember(store, clock, "user likes tea")
        backdated = await store.add(
            MemoryItem(agent="main", text="user likes ham", created_at=clock() - timedelta(days=10))
        )
        hits = await store.search("likes", agent="main")
        assert [h.item.id for h in hits] == [new.id, old.id, backdated.id]
        assert hits[0].score > hits[1].score > hits[2].score > 0

    async def test_limit_keeps_the_best(self, store: Store, clock: FakeClock) -> None:
        for i in range(7):
            if i < 5:
                await self.remember(store, clock, f"garden note {i}")
            await self.remember(store, clock, f"unrelated memory {i}")
            clock.advance(minutes=1)
        best = await self.remember(store, clock, "garden garden roses garden")
        hits = await store.search("garden roses", agent="main", limit=3)
        assert len(hits) == 3
        assert hits[0].item.id == best.id
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    async def test_words_in_half_the_memories_only_count_with_nothing_rarer(
        self, store: Store, clock: FakeClock
    ) -> None:
        # FTS5's BM25 gives a word in half or more of all memories no weight: it makes no hits
        # on its own while the query has rarer words
        mine = [await self.remember(store, clock, f"user owns item {i}") for i in range(3)]
        theirs = await self.remember(store, clock, "user owns boat", agent="other")
        for thing in ("groceries", "chores", "books", "films"):
            await self.remember(store, clock, f"a list of {thing}")
        hits = await store.search("user bike item", agent="main", limit=10)
        assert {h.item.id for h in hits} == {m.id for m in mine}
        assert {h.item.id for h in await store.search("user boat", agent="main")} == set()
        alone = await store.search("user", agent="main", limit=10)
        assert {h.item.id for h in alone} == {m.id for m in mine}
        assert [h.item.id for h in await store.search("user", agent="other")] == [theirs.id]

    async def test_kinds_filter_and_default_kind_weights(
        self, store: Store, clock: FakeClock
    ) -> None:
        fact = await self.remember(store, clock, "the printer is on floor two", kind="fact")
        note = await self.remember(store, clock, "the printer was jammed this morning", kind="note")
        how = await self.remember(store, clock, "to fix the printer reboot it", kind="procedure")
        only = await store.search("printer", agent="main", kinds=["procedure"])
        assert [h.item.id for h in only] == [how.id]
        some = await store.search("printer", agent="main", kinds=["fact", "note"])
        assert {h.item.id for h in some} == {fact.id, note.id}
        assert await store.search("printer", agent="main", kinds=[]) == []
        everything = await store.search("printer", agent="main", limit=10)
        assert everything[-1].item.id == note.id  # a note weighs less by default

    @pytest.mark.parametrize("query", ["", "   ", "the and of", "what is it?", "🙂🙂", "?!"])
    async def test_query_without_words_returns_the_newest(
        self, store: Store, clock: FakeClock, query: str
    ) -> None:
        made: list[MemoryItem] = []
        for text in ("alpha", "beta", "gamma"):
            made.append(await self.remember(store, clock, text))
            clock.advance(hours=1)
        hits = await store.search(query, agent="main", limit=2)
        assert [h.item.id for h in hits] == [made[2].id, made[1].id]
        assert hits[0].score > hits[1].score > 0

    @pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
    async def test_fts_syntax_in_queries_is_just_words(
        self, store: Store, clock: FakeClock, query: str
    ) -> None:
        coffee = await self.remember(store, clock, "Bob takes his coffee black")
        await self.remember(store, clock, "Carol prefers rooibos")
        hits = await store.search(query, agent="main", limit=5)
        assert coffee.id in [h.item.id for h in hits]
        assert len(await store.list(agent="main")) == 2

    @pytest.mark.parametrize("query", SYNTAX_ONLY_QUERIES, ids=range(len(SYNTAX_ONLY_QUERIES)))
    async def test_queries_of_pure_syntax_never_fail(
        self, store: Store, clock: FakeClock, query: str
    ) -> None:
        item = await self.remember(store, clock, "Dave's birthday is in May")
        hits = await store.search(query, agent="main")
        assert all(h.item == item for h in hits)
