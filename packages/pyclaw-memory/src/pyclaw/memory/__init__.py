"""Long-term memory for agents: facts, notes and procedures with provenance and TTL.

``SQLiteMemoryStore`` (over a ``pyclaw.storage.Database``, searched with FTS5 BM25 blended with
recency) and ``InMemoryMemoryStore`` (token overlap) implement ``pyclaw.meta.MemoryStore``.
``pyclaw.memory.testing`` holds the conformance suite.
"""

from pyclaw.memory._errors import MemoryExistsError, MemoryNotFoundError
from pyclaw.memory._memory import InMemoryMemoryStore
from pyclaw.memory._ranking import DEFAULT_KIND_WEIGHTS, Ranking
from pyclaw.memory._schema import MEMORY_MIGRATIONS
from pyclaw.memory._sqlite import SQLiteMemoryStore
from pyclaw.memory._text import STOP_WORDS, fts_query, normalize_text, search_terms

__all__ = [
    "DEFAULT_KIND_WEIGHTS",
    "MEMORY_MIGRATIONS",
    "STOP_WORDS",
    "InMemoryMemoryStore",
    "MemoryExistsError",
    "MemoryNotFoundError",
    "Ranking",
    "SQLiteMemoryStore",
    "fts_query",
    "normalize_text",
    "search_terms",
]
