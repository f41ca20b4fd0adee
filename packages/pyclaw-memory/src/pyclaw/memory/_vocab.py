"""Choosing which query words are worth searching for, from the FTS5 index's own statistics.

FTS5's BM25 gives a term in half or more of all memories an IDF of (almost) zero, so such a word
adds nothing to any score while making nearly every memory a hit (and the search slow). Each
query word is run through the index's tokenizer (stemming included) via a scratch table in the
``temp`` schema, its document frequency is read from ``memories_fts_vocab``, and then:

- words that occur in no memory, or that the tokenizer reduces to nothing, are dropped;
- words in half or more of the memories are dropped, unless nothing else is left;
- of the rest, the ``limit`` rarest (the most informative) are kept, in query order.

``counted_terms`` also returns each kept word's document frequency: the store uses it to spot a
broad query (every word frequent), see ``MemoryCore.search``.
"""

from __future__ import annotations

import sqlite3

from pyclaw.memory._schema import TOKENIZER

MAX_SEARCH_TERMS = 16
"""At most this many words (the rarest) are sent to FTS5 for one query."""

_SCRATCH = "memories_query"


def ensure_scratch(conn: sqlite3.Connection) -> None:
    """Create this connection's scratch tokenizer table and its vocabulary view (idempotent)."""
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{_SCRATCH} USING fts5 (word, tokenize = '{TOKENIZER}')"
    )
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{_SCRATCH}_terms "
        f"USING fts5vocab (temp, {_SCRATCH}, instance)"
    )


def _document_frequencies(conn: sqlite3.Connection, words: list[str]) -> list[int]:
    """For each word, how many memories contain it as the index tokenizes it (0 if none, or if it
    has no token; a word of several tokens counts as its rarest token)."""
    conn.execute(f"DELETE FROM temp.{_SCRATCH}")
    conn.executemany(f"INSERT INTO temp.{_SCRATCH} (rowid, word) VALUES (?, ?)", enumerate(words))
    tokens: list[tuple[int, str]] = conn.execute(
        f"SELECT doc, term FROM temp.{_SCRATCH}_terms"
    ).fetchall()
    conn.execute(f"DELETE FROM temp.{_SCRATCH}")
    stems = sorted({term for _, term in tokens})
    found: dict[str, int] = {}
    if stems:
        marks = ", ".join("?" * len(stems))
        found = dict(
            conn.execute(
                f"SELECT term, doc FROM memories_fts_vocab WHERE term IN ({marks})",
                stems,
            ).fetchall()
        )
    frequencies: list[int | None] = [None] * len(words)
    for index, term in tokens:
        count = found.get(term, 0)
        current = frequencies[index]
        frequencies[index] = count if current is None else min(current, count)
    return [0 if f is None else f for f in frequencies]


def select_terms(
    conn: sqlite3.Connection, words: list[str], limit: int = MAX_SEARCH_TERMS
) -> list[str]:
    """The words of ``words`` worth a MATCH (see the module docstring); ``[]`` if none can match."""
    return [word for word, _ in counted_terms(conn, words, limit)]


def counted_terms(
    conn: sqlite3.Connection, words: list[str], limit: int = MAX_SEARCH_TERMS
) -> list[tuple[str, int]]:
    """``select_terms`` with each chosen word's document frequency (how many memories hold it)."""
    if not words:
        return []
    frequencies = _document_frequencies(conn, words)
    total = int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])
    present = [(f, i) for i, f in enumerate(frequencies) if f > 0]
    informative = [(f, i) for f, i in present if 2 * f < total] or present
    kept = sorted(informative)[:limit]
    return [(words[i], f) for f, i in sorted(kept, key=lambda pair: pair[1])]
