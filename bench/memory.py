"""Memory search over 10,000 memories (``pyclaw.memory.SQLiteMemoryStore``, FTS5 BM25 + recency).

The store is on a file database in a temporary directory. 10,000 memories of one agent (plus
2,000 of another, which a search must skip) are added with ``add_many``: seeded text of 6-30
words drawn with a Zipf-like skew from ~180 common English words and ~1,500 made-up names
(projects, people, hosts), so a few words are in most memories and most names in a handful;
a third are notes or procedures, some tagged. Queries are questions naming one or two words of a
stored memory among other words of the vocabulary, as the agent would ask them (``search(query, agent=..., limit=5)``, what ``memory_search`` and the
context builder do), timed one after another after a warm-up; each must return hits.
Rows: p50/p90 of mixed queries, p50 of queries made only of the most frequent words (the most
rows to rank), and ``add_many`` throughput. Target: search p50 < 10 ms.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench._common import Row, atime_ms, p50, p90, row
from pyclaw.memory import SQLiteMemoryStore
from pyclaw.meta import MemoryItem, MemoryKind
from pyclaw.storage import Database

MEMORIES = 10_000
OTHER_AGENT_MEMORIES = 2_000
TARGET_MS = 10.0
AGENT = "bench"

_COMMON_TEXT = """
user prefers morning meeting report server backup disk weekly daily project deadline budget team
email calendar invoice client contract review draft release deploy build test error log alert
password account login network router printer laptop phone battery update version install
config file folder document spreadsheet slide presentation note reminder task todo ticket issue
bug feature request customer order shipment delivery address payment card bank transfer salary
tax receipt expense travel flight hotel train booking trip vacation holiday birthday family
friend doctor appointment dentist pharmacy medicine gym running diet coffee tea lunch dinner
recipe grocery shopping list weather rain snow summer winter monday tuesday wednesday thursday
friday weekend evening night quarterly annual monthly plan goal priority urgent important
password manager database query table index schema migration cluster container image volume
port firewall certificate domain website blog article newsletter podcast video music playlist
book library language english french spanish german translation summary meeting notes agenda
"""
COMMON = list(dict.fromkeys(_COMMON_TEXT.split()))


def names(rng: random.Random, count: int) -> list[str]:
    """Made-up proper names and identifiers (rare words a memory is usually found by)."""
    syllables = ["ka", "lo", "mi", "ra", "ten", "vor", "zu", "bel", "dan", "qui", "sor", "pex"]
    return [
        "".join(rng.choices(syllables, k=rng.randint(2, 4))) + str(rng.randint(0, 99))
        for _ in range(count)
    ]


class Corpus:
    """Seeded words with a Zipf-like skew: word ``i`` is drawn with weight ``1 / (i + 1)``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = COMMON + names(self.rng, 1_500)
        self.weights = [1 / (i + 1) for i in range(len(self.words))]

    def text(self, low: int, high: int) -> str:
        return " ".join(
            self.rng.choices(self.words, weights=self.weights, k=self.rng.randint(low, high))
        )

    def item(self, agent: str) -> MemoryItem:
        kind: MemoryKind = self.rng.choice(["fact", "fact", "note", "procedure"])
        tags = tuple(self.rng.sample(COMMON, k=self.rng.randint(0, 2)))
        return MemoryItem(agent=agent, kind=kind, text=self.text(6, 30), source="user", tags=tags)

    def question(self, about: MemoryItem) -> str:
        """A question naming 1-2 words of ``about`` among 1-4 other words (so it has a hit)."""
        known = self.rng.sample(about.text.split(), k=self.rng.randint(1, 2))
        return f"what do you remember about {' '.join(known)} {self.text(1, 4)}?"


async def measure(
    directory: Path,
    queries: int,
    memories: int = MEMORIES,
    others: int = OTHER_AGENT_MEMORIES,
) -> list[Row]:
    db = Database.open(directory / "memory.db")
    try:
        store = SQLiteMemoryStore(db)
        corpus = Corpus(seed=11)
        items = [corpus.item(AGENT) for _ in range(memories)]
        items += [corpus.item("other") for _ in range(others)]
        started = time.perf_counter()
        for start in range(0, len(items), 1_000):
            await store.add_many(items[start : start + 1_000])
        add_s = time.perf_counter() - started
        stored = len(await store.list(agent=AGENT, limit=memories + 1))
        mixed = [corpus.question(corpus.rng.choice(items[:memories])) for _ in range(queries)]
        frequent = [f"{' '.join(corpus.rng.sample(COMMON[:8], k=3))}?" for _ in range(queries)]

        def searcher(questions: list[str]) -> Callable[[], Awaitable[None]]:
            pending = iter(questions * 2)

            async def search() -> None:
                hits = await store.search(next(pending), agent=AGENT, limit=5)
                if not hits or any(h.item.agent != AGENT for h in hits):
                    raise RuntimeError("a memory search returned no hit or another agent's")

            return search

        mixed_ms = await atime_ms(searcher(mixed), queries, warmup=min(queries, 20))
        frequent_ms = await atime_ms(searcher(frequent), queries, warmup=min(queries, 20))
    finally:
        db.close()
    detail = f"{queries} queries, limit 5; {stored:,} memories of the agent + {others:,} of another"
    return [
        row("search p50, mixed questions", p50(mixed_ms), "ms", below=TARGET_MS, detail=detail),
        row("search p90, mixed questions", p90(mixed_ms), "ms", detail=detail),
        row(
            "search p50, only the most frequent words",
            p50(frequent_ms),
            "ms",
            below=TARGET_MS,
            detail=detail,
        ),
        row(
            "add_many throughput",
            len(items) / add_s,
            "items/s",
            detail=f"{len(items):,} items in batches of 1,000",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    """Search latency over 10,000 memories."""
    with tempfile.TemporaryDirectory(prefix="pyclaw-bench-memory-") as tmp:
        return asyncio.run(measure(Path(tmp), 50 if quick else 500))


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<42} {result['value']:>9} {result['unit']:<7} {result['detail']}")
