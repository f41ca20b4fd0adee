"""Behaviour at 10,000 memories: the right needles come first, per agent, with common words around.

Latency is measured by the benchmark (see the README), not asserted here.
"""

from __future__ import annotations

import random
from pathlib import Path

from pyclaw.memory import SQLiteMemoryStore
from pyclaw.memory.testing import FakeClock
from pyclaw.meta import MemoryItem
from pyclaw.storage import Database

VOCAB = [f"w{i}x" for i in range(5_000)]


async def test_needles_among_ten_thousand_memories(tmp_path: Path) -> None:
    rng = random.Random(42)
    clock = FakeClock()
    items: list[MemoryItem] = []
    for i in range(10_000):
        words = rng.choices(VOCAB, k=rng.randint(6, 24))
        if i % 2:
            words.insert(0, "user")  # a word in half the memories
        agent = "main" if i % 4 else "other"
        created = clock.advance(minutes=5)
        items.append(MemoryItem(agent=agent, text=" ".join(words), created_at=created))
    old_needle = MemoryItem(
        agent="main",
        text="user keeps the spare router in the blue cupboard",
        created_at=items[10].created_at,
    )
    new_needle = MemoryItem(
        agent="main", text="user keeps the spare key in the blue cupboard", created_at=clock()
    )
    foreign = MemoryItem(agent="other", text="the blue cupboard is locked", created_at=clock())
    with Database.open(tmp_path / "pyclaw.db") as db:
        store = SQLiteMemoryStore(db, clock=clock)
        await store.add_many([*items, old_needle, new_needle, foreign])
        assert db.conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 10_003

        hits = await store.search("where is the blue cupboard?", agent="main")
        assert [h.item.id for h in hits] == [new_needle.id, old_needle.id]
        hits = await store.search("Where does the user keep the spare ROUTER?", agent="main")
        assert hits[0].item.id == old_needle.id
        hits = await store.search("blue cupboard", agent="other")
        assert [h.item.id for h in hits] == [foreign.id]
        common = await store.search("user", agent="main", limit=20)
        assert len(common) == 20
        assert all("user" in h.item.text and h.item.agent == "main" for h in common)
