"""``MemoryStoreContract``: the conformance suite every ``MemoryStore`` backend must pass.

Subclass it in a test module (its name must start with ``Test``) and implement ``make_store``::

    class TestMyStore(MemoryStoreContract):
        async def make_store(self, tmp_path: Path, clock: FakeClock) -> FullMemoryStore:
            return MyStore(tmp_path / "memory", clock=clock)

Every item is created at the injected clock's time, so recency and expiry are deterministic.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from pyclaw.memory.testing._base import ContractBase, FullMemoryStore
from pyclaw.memory.testing._clock import FakeClock
from pyclaw.memory.testing._search import HOSTILE_QUERIES, SearchContract
from pyclaw.meta import MemoryItem, NotFoundError, UsageError

__all__ = ["HOSTILE_QUERIES", "FullMemoryStore", "MemoryStoreContract"]

Store = FullMemoryStore


@pytest.mark.asyncio
class MemoryStoreContract(SearchContract, ContractBase):
    """Behaviour every ``MemoryStore`` implementation must have (search tests in ``SearchContract``)."""

    # -- add / get / list / forget ----------------------------------------------------------------

    async def test_add_then_get_round_trips_every_field(
        self, store: Store, clock: FakeClock
    ) -> None:
        item = MemoryItem(
            agent="main",
            kind="procedure",
            text="Deploy with `make deploy` after the tests pass",
            source="session:ses_1",
            session_id="ses_1",
            tags=("deploy", "ops"),
            created_at=clock(),
            expires_at=clock() + timedelta(days=3),
        )
        assert await store.add(item) == item
        assert await store.get(item.id) == item

    async def test_get_unknown_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.get("mem_missing")

    async def test_list_is_newest_first_and_limited(self, store: Store, clock: FakeClock) -> None:
        made: list[MemoryItem] = []
        for i in range(4):
            made.append(await self.remember(store, clock, f"memory number {i}"))
            clock.advance(minutes=1)
        listed = await store.list(agent="main")
        assert [m.id for m in listed] == [m.id for m in reversed(made)]
        assert [m.id for m in await store.list(agent="main", limit=2)] == [made[3].id, made[2].id]

    async def test_forget_removes_everywhere_and_is_idempotent(
        self, store: Store, clock: FakeClock
    ) -> None:
        kept = await self.remember(store, clock, "the cat is called Miso")
        gone = await self.remember(store, clock, "the dog is called Rex")
        await store.forget(gone.id)
        await store.forget(gone.id)
        await store.forget("mem_never_existed")
        with pytest.raises(NotFoundError):
            await store.get(gone.id)
        assert [m.id for m in await store.list(agent="main")] == [kept.id]
        assert [h.item.id for h in await store.search("called", agent="main")] == [kept.id]
        again = await self.remember(store, clock, "the dog is called Rex")
        assert again.id != gone.id

    async def test_limits_below_one_are_refused(self, store: Store) -> None:
        with pytest.raises(UsageError):
            await store.list(agent="main", limit=0)
        with pytest.raises(UsageError):
            await store.search("x", agent="main", limit=0)

    async def test_blank_text_and_past_expiry_are_refused(
        self, store: Store, clock: FakeClock
    ) -> None:
        with pytest.raises(UsageError):
            await self.remember(store, clock, " \t…  ")
        with pytest.raises(UsageError):
            await store.add(MemoryItem(agent="main", text="late", expires_at=clock()))
        assert await store.list(agent="main") == []

    async def test_a_taken_id_with_other_text_is_refused(self, store: Store) -> None:
        first = await store.add(MemoryItem(id="mem_1", agent="main", text="first"))
        with pytest.raises(UsageError):
            await store.add(MemoryItem(id="mem_1", agent="main", text="second"))
        assert await store.get("mem_1") == first

    # -- dedupe -----------------------------------------------------------------------------------

    async def test_same_normalized_text_returns_the_existing_item(
        self, store: Store, clock: FakeClock
    ) -> None:
        first = await self.remember(store, clock, "User prefers tea.", ttl=timedelta(days=1))
        clock.advance(hours=1)
        again = await self.remember(store, clock, "  user   PREFERS tea ", ttl=timedelta(days=7))
        assert again.id == first.id
        assert again.text == first.text
        assert again.created_at == first.created_at
        assert again.expires_at == clock() + timedelta(days=7)
        assert await store.get(first.id) == again
        assert len(await store.list(agent="main")) == 1

    async def test_dedupe_never_shortens_expiry_and_none_means_forever(
        self, store: Store, clock: FakeClock
    ) -> None:
        first = await self.remember(store, clock, "likes jazz", ttl=timedelta(days=30))
        shorter = await self.remember(store, clock, "likes jazz", ttl=timedelta(days=1))
        assert shorter.expires_at == first.expires_at
        forever = await self.remember(store, clock, "likes jazz")
        assert forever.expires_at is None
        again = await self.remember(store, clock, "likes jazz", ttl=timedelta(days=1))
        assert again.expires_at is None
        clock.advance(days=365)
        assert (await store.get(first.id)).expires_at is None

    async def test_dedupe_is_per_agent(self, store: Store, clock: FakeClock) -> None:
        mine = await self.remember(store, clock, "likes jazz", agent="a")
        theirs = await self.remember(store, clock, "likes jazz", agent="b")
        assert mine.id != theirs.id

    async def test_concurrent_adds_of_one_text_store_it_once(
        self, store: Store, clock: FakeClock
    ) -> None:
        results = await asyncio.gather(
            *(self.remember(store, clock, "the wifi password is in the drawer") for _ in range(10))
        )
        assert len({r.id for r in results}) == 1
        assert len(await store.list(agent="main")) == 1

    # -- expiry -----------------------------------------------------------------------------------

    async def test_expired_items_are_never_returned(self, store: Store, clock: FakeClock) -> None:
        brief = await self.remember(store, clock, "parking spot 42", ttl=timedelta(hours=1))
        lasting = await self.remember(store, clock, "home parking spot is 7")
        assert {h.item.id for h in await store.search("parking", agent="main")} == {
            brief.id,
            lasting.id,
        }
        clock.advance(hours=1)
        with pytest.raises(NotFoundError):
            await store.get(brief.id)
        assert [m.id for m in await store.list(agent="main")] == [lasting.id]
        assert [h.item.id for h in await store.search("parking", agent="main")] == [lasting.id]
        assert [h.item.id for h in await store.search("", agent="main")] == [lasting.id]

    async def test_purge_expired_counts_deleted_items(self, store: Store, clock: FakeClock) -> None:
        await self.remember(store, clock, "one", ttl=timedelta(minutes=5))
        await self.remember(store, clock, "two", ttl=timedelta(minutes=10))
        keep = await self.remember(store, clock, "three", ttl=timedelta(days=1))
        assert await store.purge_expired() == 0
        clock.advance(minutes=10)
        assert await store.purge_expired() == 2
        assert await store.purge_expired() == 0
        assert [m.id for m in await store.list(agent="main")] == [keep.id]

    async def test_an_expired_text_can_be_remembered_afresh(
        self, store: Store, clock: FakeClock
    ) -> None:
        old = await self.remember(store, clock, "meeting at noon", ttl=timedelta(hours=1))
        clock.advance(hours=2)
        new = await self.remember(store, clock, "Meeting at noon.", ttl=timedelta(hours=1))
        assert new.id != old.id
        assert await store.get(new.id) == new
        assert [m.id for m in await store.list(agent="main")] == [new.id]

    # -- isolation --------------------------------------------------------------------------------

    async def test_agents_never_see_each_other(self, store: Store, clock: FakeClock) -> None:
        await self.remember(store, clock, "secret project falcon", agent="work")
        home = await self.remember(store, clock, "project garden plans", agent="home")
        assert [h.item.id for h in await store.search("project falcon", agent="home")] == [home.id]
        assert [m.id for m in await store.list(agent="home")] == [home.id]
        assert await store.search("falcon", agent="home") == []
        assert await store.search("falcon", agent="nobody") == []
        assert await store.list(agent="nobody") == []

    async def test_add_many_is_all_or_nothing(self, store: Store, clock: FakeClock) -> None:
        adder = store.add_many
        first = MemoryItem(agent="main", text="alpha", created_at=clock())
        saved = await adder([first, MemoryItem(agent="main", text="ALPHA.", created_at=clock())])
        assert [m.id for m in saved] == [first.id, first.id]
        with pytest.raises(UsageError):
            await adder([MemoryItem(agent="main", text="beta"), MemoryItem(agent="main", text=" ")])
        assert [m.id for m in await store.list(agent="main")] == [first.id]
