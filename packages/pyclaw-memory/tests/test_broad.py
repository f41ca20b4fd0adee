"""Broad queries (every term frequent): memories holding all the terms are ranked first."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pyclaw.memory import SQLiteMemoryStore
from pyclaw.memory import _sqlite_core as core
from pyclaw.memory.testing import FakeClock
from pyclaw.meta import MemoryHit, MemoryItem, MemoryKind
from pyclaw.storage import Database

FREQUENT = {"server": 0.4, "backup": 0.4, "disk": 0.15, "report": 0.4}
"""The frequent words and the share of memories holding each."""
FILLER = [f"w{i}x" for i in range(400)]


def corpus(seed: int, n: int, clock: FakeClock) -> list[MemoryItem]:
    """Memories each holding a random subset of ``FREQUENT`` among filler words."""
    rng = random.Random(seed)
    items: list[MemoryItem] = []
    for _ in range(n):
        words = rng.sample(FILLER, k=rng.randint(4, 12))
        words += [w for w, share in FREQUENT.items() if rng.random() < share]
        rng.shuffle(words)
        kind: MemoryKind = rng.choice(["fact", "note", "procedure"])
        created = clock.advance(minutes=rng.randint(1, 600))
        items.append(MemoryItem(agent="a", kind=kind, text=" ".join(words), created_at=created))
    return items


def ids(hits: list[MemoryHit]) -> list[str]:
    return [h.item.id for h in hits]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_a_broad_query_ranks_the_memories_with_every_term(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        store = SQLiteMemoryStore(db, clock=clock)
        await store.add_many(corpus(1, 300, clock))
        query = "server backup disk"
        monkeypatch.setattr(core, "BROAD_DOCS", 10**9)  # never broad: the plain OR query
        plain = await store.search(query, agent="a", limit=300)
        monkeypatch.setattr(core, "BROAD_DOCS", 10)
        broad = await store.search(query, agent="a", limit=5)

    holding_all = [
        h for h in plain if all(w in h.item.text.split() for w in ("server", "backup", "disk"))
    ]
    assert len(holding_all) >= 5 < len(plain)  # the test means something: both sets are big
    # the change: some memories lacking one of the words top the OR ranking...
    lacking = [h.item.id for h in plain[:5] if h not in holding_all]
    assert lacking
    assert not set(lacking) & set(ids(broad))  # ...but a broad query wants all its words
    assert all(all(w in h.item.text.split() for w in ("server", "backup", "disk")) for h in broad)
    # exactly the best of those memories, with the scores the OR query gives them
    assert ids(broad) == ids(holding_all[:5])
    assert [h.score for h in broad] == pytest.approx([h.score for h in holding_all[:5]])


async def test_too_few_memories_with_every_term_fall_back_to_the_or_query(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        store = SQLiteMemoryStore(db, clock=clock)
        await store.add_many(corpus(2, 300, clock))
        query = "server backup disk report"
        monkeypatch.setattr(core, "BROAD_DOCS", 10**9)
        plain = await store.search(query, agent="a", limit=40)
        monkeypatch.setattr(core, "BROAD_DOCS", 10)
        broad = await store.search(query, agent="a", limit=40)

    holding_all = [h for h in plain if all(w in h.item.text.split() for w in FREQUENT)]
    assert 0 < len(holding_all) < 40  # fewer than the limit: the AND answer is not enough
    assert ids(broad) == ids(plain)


async def test_a_rare_term_or_a_single_term_is_never_broad(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        store = SQLiteMemoryStore(db, clock=clock)
        items = corpus(3, 200, clock)
        needle = MemoryItem(agent="a", text="the zebra tape is in the safe", created_at=clock())
        await store.add_many([*items, needle])
        monkeypatch.setattr(core, "BROAD_DOCS", 10**9)
        plain_rare = await store.search("zebra server backup", agent="a", limit=10)
        plain_one = await store.search("server", agent="a", limit=10)
        monkeypatch.setattr(core, "BROAD_DOCS", 10)
        rare = await store.search("zebra server backup", agent="a", limit=10)
        one = await store.search("server", agent="a", limit=10)

    assert rare[0].item.id == needle.id  # the needle has neither frequent word: OR query ran
    assert ids(rare) == ids(plain_rare)
    assert ids(one) == ids(plain_one)
