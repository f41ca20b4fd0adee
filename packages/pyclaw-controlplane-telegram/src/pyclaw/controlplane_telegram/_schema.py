"""The Telegram schema (component ``telegram``): inbox, offsets, pairing, outbox, approvals.

Every table is keyed by ``bot`` (the token's numeric id) so two bots can share one database.
"""

from __future__ import annotations

from datetime import datetime

from pyclaw.meta import format_ts
from pyclaw.storage import Database, Migrations

TELEGRAM_MIGRATIONS = Migrations("telegram")
"""Schema of the Telegram channel; ``TelegramChannel`` and the pairing functions ensure it."""


@TELEGRAM_MIGRATIONS.migration(1, "create inbox, state, pairing, outbox and approvals")
def _create_tables(db: Database) -> None:
    db.script(
        """
        -- Every update received, recorded before Telegram is told it may forget it.
        CREATE TABLE telegram_updates (
            bot TEXT NOT NULL,
            update_id INTEGER NOT NULL,
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            received_at TEXT NOT NULL,
            delivered_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            dead_at TEXT,
            PRIMARY KEY (bot, update_id)
        );
        CREATE INDEX telegram_updates_pending ON telegram_updates (bot, update_id)
            WHERE delivered_at IS NULL AND dead_at IS NULL;

        -- The high-water mark: the offset the next getUpdates sends.
        CREATE TABLE telegram_state (
            bot TEXT PRIMARY KEY,
            next_offset INTEGER NOT NULL
        );

        CREATE TABLE telegram_pairing (
            bot TEXT NOT NULL,
            code TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            replied_at TEXT,
            approved_at TEXT,
            PRIMARY KEY (bot, code)
        );
        CREATE INDEX telegram_pairing_user ON telegram_pairing (bot, user_id);

        -- Users paired through a code (the configured allowlist lives in the config).
        CREATE TABLE telegram_allowed (
            bot TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            chat_id INTEGER,
            name TEXT NOT NULL,
            code TEXT,
            approved_at TEXT NOT NULL,
            PRIMARY KEY (bot, user_id)
        );

        -- One row per message sent for an idempotency key ("<key>#<chunk>").
        CREATE TABLE telegram_outbox (
            bot TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (bot, idempotency_key)
        );

        -- Inline approval buttons: the token in callback_data maps back to the request.
        CREATE TABLE telegram_approvals (
            bot TEXT NOT NULL,
            token TEXT NOT NULL,
            request_id TEXT NOT NULL,
            call_hash TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            message_id INTEGER,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            pressed_update_id INTEGER,
            pressed_by TEXT,
            choice TEXT,
            resolved_at TEXT,
            outcome TEXT,
            PRIMARY KEY (bot, token)
        );
        CREATE UNIQUE INDEX telegram_approvals_request ON telegram_approvals (bot, request_id);
        """
    )


def ts(value: datetime) -> str:
    """A timestamp as stored (canonical UTC text, sorts like time)."""
    return format_ts(value)
