"""SQLite-specific behaviour: schema, FTS5 index sync, tokenizer choices, persistence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from pyclaw.memory import MEMORY_MIGRATIONS, Ranking, SQLiteMemoryStore
from pyclaw.memory.testing import FakeClock
from pyclaw.meta import MemoryItem, MemoryStore
from pyclaw.storage import Database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteMemoryStore]:
    db = Database.open(tmp_path / "pyclaw.db")
    try:
        yield SQLiteMemoryStore(db, clock=clock)
    finally:
        db.close()


def fts_consistent(store: SQLiteMemoryStore) -> bool:
    """Whether the FTS5 index holds exactly the tokens of the ``memories`` rows.

    A fresh index is built from the rows in a temporary table and both are compared token by
    token through ``fts5vocab`` (FTS5's own ``integrity-check`` does not compare an external-content
    index with its content table before SQLite 3.44).
    """
    conn = store.db.conn
    conn.execute(
        "CREATE VIRTUAL TABLE temp.fresh USING fts5 (text, tags, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    conn.execute("INSERT INTO temp.fresh (rowid, text, tags) SELECT pk, text, tags FROM memories")
    conn.execute("CREATE VIRTUAL TABLE temp.v_live USING fts5vocab (main, memories_fts, instance)")
    conn.execute("CREATE VIRTUAL TABLE temp.v_fresh USING fts5vocab (temp, fresh, instance)")
    try:
        query = "SELECT term, doc, col, offset FROM temp.{} ORDER BY 1, 2, 3, 4"
        live = conn.execute(query.format("v_live")).fetchall()
        fresh = conn.execute(query.format("v_fresh")).fetchall()
    finally:
        for table in ("v_live", "v_fresh", "fresh"):
            conn.execute(f"DROP TABLE temp.{table}")
    return live == fresh


def remember(clock: FakeClock, text: str, **fields: object) -> MemoryItem:
    return MemoryItem.model_validate(
        {"agent": "main", "text": text, "created_at": clock(), **fields}
    )


async def test_schema_is_recorded_as_component_memory(store: SQLiteMemoryStore) -> None:
    assert isinstance(store, MemoryStore)
    assert store.db.schema_versions()["memory"] == MEMORY_MIGRATIONS.latest == 1
    tokenizer = store.db.conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'memories_fts'"
    ).fetchone()[0]
    assert "porter unicode61 remove_diacritics 2" in tokenizer


async def test_fts_index_follows_every_write(store: SQLiteMemoryStore, clock: FakeClock) -> None:
    a = await store.add(
        remember(clock, "the boiler code is 1234", expires_at=clock() + timedelta(hours=1))
    )
    await store.add(
        remember(clock, "The boiler code is 1234.", expires_at=clock() + timedelta(days=2))
    )
    b = await store.add(remember(clock, "water the ferns on sundays"))
    assert fts_consistent(store)
    await store.forget(b.id)
    assert fts_consistent(store)
    assert await store.search("ferns", agent="main") == []
    clock.advance(days=3)
    assert await store.purge_expired() == 1
    assert fts_consistent(store)
    count = store.db.conn.execute("SELECT count(*) FROM memories_fts").fetchone()[0]
    assert count == 0
    assert a.id not in [m.id for m in await store.list(agent="main")]


async def test_integrity_check_does_catch_a_desynced_index(
    store: SQLiteMemoryStore, clock: FakeClock
) -> None:
    await store.add(remember(clock, "something to lose"))
    store.db.conn.execute("DROP TRIGGER memories_fts_delete")
    store.db.conn.execute("DELETE FROM memories")
    assert not fts_consistent(store)


async def test_stemming_diacritics_and_tags(store: SQLiteMemoryStore, clock: FakeClock) -> None:
    run = await store.add(remember(clock, "Goes running along the river"))
    cafe = await store.add(remember(clock, "Meets Zoë at the Café Müller"))
    tagged = await store.add(remember(clock, "Ask before rebooting", tags=("homelab",)))
    assert [h.item.id for h in await store.search("runs", agent="main")] == [run.id]
    assert [h.item.id for h in await store.search("cafe muller zoe", agent="main")] == [cafe.id]
    assert [h.item.id for h in await store.search("CAFÉ", agent="main")] == [cafe.id]
    assert [h.item.id for h in await store.search("homelab", agent="main")] == [tagged.id]


async def test_text_outweighs_tags(store: SQLiteMemoryStore, clock: FakeClock) -> None:
    in_tags = await store.add(remember(clock, "reboot the router monthly", tags=("network",)))
    in_text = await store.add(remember(clock, "the network switch is in the attic"))
    hits = await store.search("network", agent="main")
    assert [h.item.id for h in hits] == [in_text.id, in_tags.id]


async def test_memories_survive_reopening(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path) as db:
        item = await SQLiteMemoryStore(db, clock=clock).add(
            remember(clock, "the spare key is under the mat")
        )
    with Database.open(path, migrations=[MEMORY_MIGRATIONS]) as db:
        again = SQLiteMemoryStore(db, clock=clock)
        assert await again.get(item.id) == item
        assert [h.item.id for h in await again.search("spare key", agent="main")] == [item.id]


async def test_recency_weight_zero_ranks_by_relevance_alone(
    tmp_path: Path, clock: FakeClock
) -> None:
    with Database.open(tmp_path / "pyclaw.db") as db:
        flat = SQLiteMemoryStore(db, clock=clock, ranking=Ranking(recency_weight=0.0))
        old = await flat.add(remember(clock, "user likes jam"))
        clock.advance(days=400)
        new = await flat.add(remember(clock, "user likes tea"))
        hits = await flat.search("likes", agent="main")
        assert hits[0].score == pytest.approx(hits[1].score)
        assert {h.item.id for h in hits} == {old.id, new.id}


async def test_an_old_exact_match_beats_a_new_weak_one(
    store: SQLiteMemoryStore, clock: FakeClock
) -> None:
    exact = await store.add(remember(clock, "grandma's lasagna recipe uses ricotta"))
    clock.advance(days=365)
    weak = await store.add(remember(clock, "bought ricotta, milk, eggs, bread, apples and rice"))
    hits = await store.search("lasagna recipe ricotta", agent="main")
    assert [h.item.id for h in hits] == [exact.id, weak.id]


async def test_score_matches_the_ranking_formula(
    store: SQLiteMemoryStore, clock: FakeClock
) -> None:
    item = await store.add(remember(clock, "the only note about herons", kind="note"))
    fresh = (await store.search("herons", agent="main"))[0].score
    clock.advance(store.ranking.half_life)
    aged = (await store.search("herons", agent="main"))[0].score
    assert aged / fresh == pytest.approx(store.ranking.recency(item.created_at, clock()))
    assert aged / fresh == pytest.approx(1 - store.ranking.recency_weight / 2)
