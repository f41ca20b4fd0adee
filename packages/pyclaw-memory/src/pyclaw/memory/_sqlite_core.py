"""The synchronous half of ``SQLiteMemoryStore``: SQL run on the database's worker thread."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pyclaw.memory._errors import MemoryExistsError, MemoryNotFoundError
from pyclaw.memory._ranking import Ranking, longer_expiry
from pyclaw.memory._rows import COLUMNS, aliased, from_row, to_row
from pyclaw.memory._rules import dedupe_key, is_live
from pyclaw.memory._text import fts_all_query, fts_query
from pyclaw.memory._vocab import counted_terms
from pyclaw.meta import MemoryHit, MemoryItem, MemoryKind, format_ts
from pyclaw.storage import Database

BROAD_DOCS = 1_000
"""A query whose every term (two or more) is in at least this many memories is broad: the memories
holding all its terms are ranked first (see ``MemoryCore.search``)."""

_LIVE = "(m.expires_at IS NULL OR m.expires_at > :now)"

_INSERT = (
    "INSERT INTO memories (id, agent, kind, text, norm, source, session_id, tags, created_at, "
    "created_epoch, expires_at) VALUES (:id, :agent, :kind, :text, :norm, :source, :session_id, "
    ":tags, :created_at, :created_epoch, :expires_at)"
)

# relevance (BM25, text weighs twice the tags) x kind weight x recency (see ``Ranking``)
_SCORE = (
    "(-bm25(memories_fts, 1.0, 0.5))"
    " * (CASE m.kind WHEN 'fact' THEN :w_fact WHEN 'note' THEN :w_note ELSE :w_procedure END)"
    " * (:floor + :rw * exp(:rate * max(0.0, :now_epoch - m.created_epoch)))"
)


def ensure_exp(conn: sqlite3.Connection) -> None:
    """Provide SQL ``exp()`` on builds of SQLite compiled without its math functions."""
    try:
        conn.execute("SELECT exp(0)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("exp", 1, math.exp, deterministic=True)


def _kind_filter(kinds: Sequence[MemoryKind] | None, params: dict[str, Any]) -> str:
    if kinds is None:
        return ""
    names = [f"k{i}" for i in range(len(kinds))]
    params.update(zip(names, kinds, strict=True))
    return " AND m.kind IN (" + ", ".join(f":{n}" for n in names) + ")"


class MemoryCore:
    """Blocking operations over the ``memories`` tables; each call is one statement or transaction."""

    def __init__(self, db: Database, ranking: Ranking) -> None:
        self.db = db
        self.ranking = ranking

    def add(self, item: MemoryItem, now: datetime) -> MemoryItem:
        norm = dedupe_key(item, now)
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM memories WHERE agent = ? AND norm = ?", (item.agent, norm)
            ).fetchone()
            if row is not None:
                existing = from_row(row)
                if is_live(existing, now):
                    return self._extend(conn, existing, item.expires_at)
                conn.execute("DELETE FROM memories WHERE id = ?", (existing.id,))
            try:
                conn.execute(_INSERT, to_row(item, norm))
            except sqlite3.IntegrityError as exc:
                raise MemoryExistsError(
                    f"memory {item.id} already exists with a different text"
                ) from exc
        return item

    def add_many(self, items: Sequence[MemoryItem], now: datetime) -> list[MemoryItem]:
        with self.db.transaction():
            return [self.add(item, now) for item in items]

    def _extend(
        self, conn: sqlite3.Connection, existing: MemoryItem, expires_at: datetime | None
    ) -> MemoryItem:
        extended = longer_expiry(existing.expires_at, expires_at)
        if extended == existing.expires_at:
            return existing
        conn.execute(
            "UPDATE memories SET expires_at = ? WHERE id = ?",
            (None if extended is None else format_ts(extended), existing.id),
        )
        return existing.model_copy(update={"expires_at": extended})

    def get(self, item_id: str, now: datetime) -> MemoryItem:
        with self.db.locked() as conn:
            row = conn.execute(
                f"SELECT {aliased('m')} FROM memories AS m WHERE m.id = :id AND {_LIVE}",
                {"id": item_id, "now": format_ts(now)},
            ).fetchone()
        if row is None:
            raise MemoryNotFoundError(f"memory {item_id} not found")
        return from_row(row)

    def list(
        self, agent: str, limit: int, now: datetime, kinds: Sequence[MemoryKind] | None = None
    ) -> list[MemoryItem]:
        params: dict[str, Any] = {"agent": agent, "now": format_ts(now), "limit": limit}
        sql = (
            f"SELECT {aliased('m')} FROM memories AS m WHERE m.agent = :agent AND {_LIVE}"
            f"{_kind_filter(kinds, params)} ORDER BY m.created_at DESC, m.id DESC LIMIT :limit"
        )
        with self.db.locked() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [from_row(row) for row in rows]

    def search(
        self,
        words: list[str],
        agent: str,
        limit: int,
        kinds: Sequence[MemoryKind] | None,
        now: datetime,
    ) -> list[MemoryHit]:
        """The best hits for ``words`` (non-empty); ``[]`` when no memory has any of them.

        A broad query (two or more terms, each in at least ``BROAD_DOCS`` memories) first ranks
        only the memories holding every term (same BM25 scores as the ``OR`` query gives them:
        an FTS5 score depends on the terms, not on the operator); when at least ``limit`` of
        them qualify, they are the answer, else the ``OR`` query runs as for any other query.
        The ``OR`` of frequent words matches most of the store and scoring every match is the
        whole cost of such a search; with near-equal, small IDFs the memories holding all the
        words are the ones BM25 ranks first anyway.
        """
        with self.db.locked() as conn:
            counted = counted_terms(conn, words)
        if not counted:
            return []
        terms = [term for term, _ in counted]
        if len(counted) >= 2 and min(df for _, df in counted) >= BROAD_DOCS:
            hits = self._ranked(fts_all_query(terms), agent, limit, kinds, now)
            if len(hits) >= limit:
                return hits
        return self._ranked(fts_query(terms), agent, limit, kinds, now)

    def _ranked(
        self,
        match: str,
        agent: str,
        limit: int,
        kinds: Sequence[MemoryKind] | None,
        now: datetime,
    ) -> list[MemoryHit]:
        """The ``limit`` best live memories of ``agent`` matching the FTS5 expression ``match``."""
        ranking = self.ranking
        params: dict[str, Any] = {
            "match": match,
            "agent": agent,
            "now": format_ts(now),
            "now_epoch": now.timestamp(),
            "limit": limit,
            "w_fact": ranking.weight("fact"),
            "w_note": ranking.weight("note"),
            "w_procedure": ranking.weight("procedure"),
            "floor": 1.0 - ranking.recency_weight,
            "rw": ranking.recency_weight,
            "rate": ranking.decay_rate,
        }
        sql = (
            f"SELECT {aliased('m')}, {_SCORE} AS score"
            # CROSS JOIN pins the FTS5 scan as the outer loop: the planner may otherwise walk the
            # agent's rows and run the MATCH once per row.
            " FROM memories_fts CROSS JOIN memories AS m ON m.pk = memories_fts.rowid"
            f" WHERE memories_fts MATCH :match AND m.agent = :agent AND {_LIVE}"
            f"{_kind_filter(kinds, params)}"
            " ORDER BY score DESC, m.created_at DESC, m.id DESC LIMIT :limit"
        )
        with self.db.locked() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [MemoryHit(item=from_row(row), score=float(row[9])) for row in rows]

    def forget(self, item_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM memories WHERE id = ?", (item_id,)).rowcount > 0

    def purge_expired(self, now: datetime) -> int:
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (format_ts(now),),
            )
            return cursor.rowcount
