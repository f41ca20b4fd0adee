"""The policy schema (component ``policy``): grants, approvals and the grants change counter."""

from __future__ import annotations

from pyclaw.storage import Database, Migrations

POLICY_MIGRATIONS = Migrations("policy")
"""Schema of grants and approvals; ``SQLitePolicyEngine`` and ``ApprovalBroker`` ensure it."""


@POLICY_MIGRATIONS.migration(1, "create grants and approvals")
def _create_tables(db: Database) -> None:
    db.script(
        """
        CREATE TABLE grants (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            tool TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('once', 'window', 'session', 'forever')),
            session_id TEXT,
            argument_pattern TEXT,
            call_hash TEXT,
            request_id TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            used_at TEXT,
            CHECK (scope <> 'session' OR session_id IS NOT NULL),
            CHECK (scope <> 'once' OR call_hash IS NOT NULL),
            CHECK (scope <> 'window' OR expires_at IS NOT NULL)
        );
        CREATE INDEX grants_agent_tool ON grants (agent, tool);
        CREATE INDEX grants_created_at ON grants (created_at);

        -- Bumped by every change to grants, whoever makes it: engines in other processes
        -- compare it with what they loaded and re-load when it moved.
        CREATE TABLE policy_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            grants_version INTEGER NOT NULL
        );
        INSERT INTO policy_state (id, grants_version) VALUES (1, 0);
        CREATE TRIGGER grants_changed_insert AFTER INSERT ON grants
        BEGIN
            UPDATE policy_state SET grants_version = grants_version + 1 WHERE id = 1;
        END;
        CREATE TRIGGER grants_changed_update AFTER UPDATE ON grants
        BEGIN
            UPDATE policy_state SET grants_version = grants_version + 1 WHERE id = 1;
        END;
        CREATE TRIGGER grants_changed_delete AFTER DELETE ON grants
        BEGIN
            UPDATE policy_state SET grants_version = grants_version + 1 WHERE id = 1;
        END;

        CREATE TABLE approvals (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            run_id TEXT,
            agent TEXT NOT NULL,
            call TEXT NOT NULL CHECK (json_valid(call)),
            call_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
            created_at TEXT NOT NULL,
            expires_at TEXT,
            decision TEXT CHECK (decision IS NULL OR json_valid(decision)),
            decided_at TEXT,
            grant_id TEXT,
            applied_at TEXT,
            CHECK ((status = 'pending') = (decision IS NULL))
        );
        CREATE INDEX approvals_status ON approvals (status, created_at);
        """
    )
