"""The daemon's inbox (component ``daemon``): every inbound item once, and the state of each chat.

``daemon_inbox`` holds one row per ``ControlEvent``, keyed by its ``external_id`` (UNIQUE): a
channel re-delivering the same update after a crash finds the row and nothing happens twice. A
row moves ``queued`` → ``running`` (its ``run_id`` and ``session_id`` written *before* the run
starts, with ``attempts`` counted) → ``answered`` (the reply text stored) → ``done`` (the reply
accepted by the channel); ``dead`` when it crashed the worker too often. After a restart,
``unfinished()`` returns what is left, in arrival order.

``daemon_chats`` maps a chat (``channel``, ``chat_id``) to its current session and records a
chat parked after repeated crashes (``/new`` un-parks it with a fresh session).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pyclaw.meta import ControlEvent, format_ts
from pyclaw.storage import Database, Migrations

DAEMON_MIGRATIONS = Migrations("daemon")

ItemStatus = Literal["queued", "running", "answered", "done", "dead"]


@DAEMON_MIGRATIONS.migration(1, "create the inbox and chats")
def _create_tables(db: Database) -> None:
    db.script(
        """
        CREATE TABLE daemon_inbox (
            id INTEGER PRIMARY KEY,
            external_id TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            queue TEXT NOT NULL,
            event TEXT NOT NULL CHECK (json_valid(event)),
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'answered', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            session_id TEXT,
            run_id TEXT,
            resume_of TEXT,
            reply TEXT,
            error TEXT,
            received_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX daemon_inbox_open ON daemon_inbox (status) WHERE status != 'done';

        CREATE TABLE daemon_chats (
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            agent TEXT,
            session_id TEXT,
            parked_at TEXT,
            parked_reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, chat_id)
        );
        """
    )


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One inbound item and how far its handling got."""

    id: int
    event: ControlEvent
    queue: str
    status: ItemStatus
    attempts: int
    session_id: str | None
    run_id: str | None
    resume_of: str | None
    reply: str | None

    @property
    def external_id(self) -> str:
        return self.event.external_id


@dataclass(frozen=True, slots=True)
class ChatState:
    """A chat's current session and whether it is parked."""

    channel: str
    chat_id: str
    session_id: str | None
    parked_reason: str | None


_SELECT = (
    "SELECT id, event, queue, status, attempts, session_id, run_id, resume_of, reply "
    "FROM daemon_inbox"
)


def _item(row: sqlite3.Row | tuple[object, ...]) -> InboxItem:
    return InboxItem(
        id=int(str(row[0])),
        event=ControlEvent.model_validate_json(str(row[1])),
        queue=str(row[2]),
        status=str(row[3]),  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType] - CHECK constraint
        attempts=int(str(row[4])),
        session_id=None if row[5] is None else str(row[5]),
        run_id=None if row[6] is None else str(row[6]),
        resume_of=None if row[7] is None else str(row[7]),
        reply=None if row[8] is None else str(row[8]),
    )


class DaemonInbox:
    """Blocking accessors of the inbox and chat tables (call them through ``Database.run``)."""

    def __init__(self, db: Database) -> None:
        db.ensure(DAEMON_MIGRATIONS)
        self.db = db

    def accept(
        self, event: ControlEvent, queue: str, now: datetime, *, session_id: str | None = None
    ) -> InboxItem | None:
        """Record ``event``; the new item, or ``None`` when its external id was seen before."""
        stamp = format_ts(now)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO daemon_inbox (external_id, channel, chat_id, queue, event, "
                "session_id, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.external_id,
                    event.channel,
                    event.chat_id,
                    queue,
                    event.model_dump_json(),
                    session_id,
                    stamp,
                    stamp,
                ),
            )
            if cursor.rowcount == 0:
                return None
            row = conn.execute(f"{_SELECT} WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _item(row)

    def get(self, item_id: int) -> InboxItem:
        with self.db.locked() as conn:
            row = conn.execute(f"{_SELECT} WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise KeyError(item_id)
        return _item(row)

    def unfinished(self) -> list[InboxItem]:
        """Items not ``done`` nor ``dead``, oldest first (what a restart must finish)."""
        with self.db.locked() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE status IN ('queued', 'running', 'answered') ORDER BY id"
            ).fetchall()
        return [_item(row) for row in rows]

    def start(
        self, item_id: int, session_id: str, run_id: str, resume_of: str | None, now: datetime
    ) -> int:
        """Mark the item running in ``session_id`` as run ``run_id`` (resuming ``resume_of``);
        returns its attempt number."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE daemon_inbox SET status = 'running', attempts = attempts + 1, "
                "session_id = ?, run_id = ?, resume_of = ?, updated_at = ? WHERE id = ?",
                (session_id, run_id, resume_of, format_ts(now), item_id),
            )
            row = conn.execute("SELECT attempts FROM daemon_inbox WHERE id = ?", (item_id,))
            return int(row.fetchone()[0])

    def requeue(self, item_id: int, now: datetime, *, refund: bool = False) -> None:
        """Put a running item back (a graceful shutdown interrupted it); ``refund`` un-counts
        the attempt, which was not the item's fault."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE daemon_inbox SET status = 'queued', attempts = max(0, attempts - ?), "
                "updated_at = ? WHERE id = ? AND status = 'running'",
                (1 if refund else 0, format_ts(now), item_id),
            )

    def answered(self, item_id: int, reply: str, now: datetime) -> None:
        """Store the reply to send (a crash from here on re-sends it, never re-runs the turn)."""
        self._set(item_id, "answered", now, reply=reply)

    def done(self, item_id: int, now: datetime, *, reply: str | None = None) -> None:
        self._set(item_id, "done", now, reply=reply)

    def dead(self, item_id: int, error: str, now: datetime) -> None:
        self._set(item_id, "dead", now, error=error)

    def _set(
        self,
        item_id: int,
        status: ItemStatus,
        now: datetime,
        *,
        reply: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE daemon_inbox SET status = ?, reply = coalesce(?, reply), "
                "error = coalesce(?, error), updated_at = ? WHERE id = ?",
                (status, reply, error, format_ts(now), item_id),
            )

    def counts(self) -> dict[str, int]:
        """How many items are in each status."""
        with self.db.locked() as conn:
            rows = conn.execute("SELECT status, count(*) FROM daemon_inbox GROUP BY status")
            return {str(status): int(n) for status, n in rows.fetchall()}

    # -- chats -----------------------------------------------------------------------------------

    def chat(self, channel: str, chat_id: str) -> ChatState:
        with self.db.locked() as conn:
            row = conn.execute(
                "SELECT session_id, parked_reason FROM daemon_chats "
                "WHERE channel = ? AND chat_id = ?",
                (channel, chat_id),
            ).fetchone()
        if row is None:
            return ChatState(channel, chat_id, None, None)
        return ChatState(channel, chat_id, row[0], row[1])

    def set_session(self, channel: str, chat_id: str, session_id: str, now: datetime) -> None:
        """Make ``session_id`` the chat's current session (and un-park the chat)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO daemon_chats (channel, chat_id, session_id, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET "
                "session_id = excluded.session_id, parked_at = NULL, parked_reason = NULL, "
                "updated_at = excluded.updated_at",
                (channel, chat_id, session_id, format_ts(now)),
            )

    def park(self, channel: str, chat_id: str, reason: str, now: datetime) -> None:
        """Park the chat: its messages are answered with a notice until ``/new``."""
        stamp = format_ts(now)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO daemon_chats (channel, chat_id, parked_at, parked_reason, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET "
                "parked_at = excluded.parked_at, parked_reason = excluded.parked_reason, "
                "updated_at = excluded.updated_at",
                (channel, chat_id, stamp, reason, stamp),
            )
