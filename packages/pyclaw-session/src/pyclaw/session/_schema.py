"""The session schema (component ``session``): tables, indices, append-only triggers, views."""

from __future__ import annotations

from pyclaw.session._views import VIEWS_SQL
from pyclaw.storage import Database, Migrations

SESSION_MIGRATIONS = Migrations("session")
"""Schema of sessions, events and runs; ``SQLiteSessionLog`` ensures it on construction."""


@SESSION_MIGRATIONS.migration(1, "create sessions, events and runs")
def _create_tables(db: Database) -> None:
    db.script(
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            channel TEXT NOT NULL,
            title TEXT,
            external_key TEXT UNIQUE,
            metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
            created_at TEXT NOT NULL
        );
        CREATE INDEX sessions_created_at ON sessions (created_at);

        CREATE TABLE events (
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            seq INTEGER NOT NULL,
            run_id TEXT,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT,
            payload_ref TEXT,
            payload_sha256 TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            UNIQUE (session_id, seq),
            CHECK ((payload IS NULL) <> (payload_ref IS NULL))
        );
        CREATE INDEX events_run ON events (run_id, seq);
        CREATE INDEX events_kind ON events (kind, session_id);
        CREATE INDEX events_tool_result_call
            ON events (session_id, json_extract(payload, '$.result.call_id'))
            WHERE kind = 'tool_result';
        CREATE INDEX events_llm_response_call
            ON events (session_id, json_extract(payload, '$.call_id'))
            WHERE kind = 'llm_response';

        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            agent TEXT NOT NULL,
            status TEXT NOT NULL,
            trigger TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            error TEXT CHECK (error IS NULL OR json_valid(error))
        );
        CREATE INDEX runs_session ON runs (session_id, started_at);
        CREATE INDEX runs_status ON runs (status, started_at);
        """
    )


@SESSION_MIGRATIONS.migration(2, "make events append-only")
def _append_only(db: Database) -> None:
    db.script(
        """
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN
            SELECT RAISE(ABORT, 'session events are append-only');
        END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN
            SELECT RAISE(ABORT, 'session events are append-only');
        END;
        """
    )


@SESSION_MIGRATIONS.migration(3, "create viewer views")
def _views(db: Database) -> None:
    db.script(VIEWS_SQL)
