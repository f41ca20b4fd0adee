"""The memory schema (component ``memory``): the ``memories`` table and its FTS5 index.

``memories_fts`` is an external-content FTS5 table over ``memories (text, tags)``, kept in sync by
triggers, so the text is stored once and every write to ``memories`` (insert, delete, an update of
text or tags) updates the index in the same transaction. ``memories_fts_vocab`` (``fts5vocab``,
``row``) exposes each indexed term's document count, used to pick informative query terms.

Tokenizer: ``porter unicode61 remove_diacritics 2``. ``unicode61`` splits on Unicode punctuation and
space and casefolds any script; ``remove_diacritics 2`` makes "café" match "cafe" (also for letters
with several marks); ``porter`` stems English words, so "likes coffee" matches "liked coffees" —
memories are natural-language sentences recalled by different wording, and recall matters more here
than the rare false match of two words sharing a stem. Non-English words pass through the stemmer
mostly unchanged.

``forget`` deletes the row (no tombstone): a forgotten memory must really be gone; the audit trail
of who added or forgot what is the session log, not this table.
"""

from __future__ import annotations

from pyclaw.storage import Database, Migrations

TOKENIZER = "porter unicode61 remove_diacritics 2"
"""The FTS5 tokenizer of ``memories_fts`` (and of the scratch table that tokenizes queries)."""

MEMORY_MIGRATIONS = Migrations("memory")
"""Schema of long-term memories; ``SQLiteMemoryStore`` ensures it on construction."""


@MEMORY_MIGRATIONS.migration(1, "create memories and their FTS5 index")
def _create(db: Database) -> None:
    db.script(
        f"""
        CREATE TABLE memories (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            agent TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('fact', 'note', 'procedure')),
            text TEXT NOT NULL,
            norm TEXT NOT NULL,
            source TEXT,
            session_id TEXT,
            tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
            created_at TEXT NOT NULL,
            created_epoch REAL NOT NULL,
            expires_at TEXT,
            UNIQUE (agent, norm)
        );
        CREATE INDEX memories_agent_created ON memories (agent, created_at, id);
        CREATE INDEX memories_expires ON memories (expires_at) WHERE expires_at IS NOT NULL;

        CREATE VIRTUAL TABLE memories_fts USING fts5 (
            text, tags,
            content = 'memories', content_rowid = 'pk',
            tokenize = '{TOKENIZER}'
        );
        CREATE VIRTUAL TABLE memories_fts_vocab USING fts5vocab (memories_fts, row);

        CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
        BEGIN
            INSERT INTO memories_fts (rowid, text, tags) VALUES (new.pk, new.text, new.tags);
        END;
        CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
        BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, text, tags)
                VALUES ('delete', old.pk, old.text, old.tags);
        END;
        CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, tags ON memories
        BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, text, tags)
                VALUES ('delete', old.pk, old.text, old.tags);
            INSERT INTO memories_fts (rowid, text, tags) VALUES (new.pk, new.text, new.tags);
        END;
        """
    )
