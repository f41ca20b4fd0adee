"""The durable inbox: updates recorded with the offset in one transaction, then delivered once.

All methods are synchronous SQLite work; the channel calls them through ``Database.run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pyclaw.controlplane_telegram._schema import ts
from pyclaw.storage import Database


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One recorded update not delivered yet (nor given up on)."""

    update_id: int
    payload: str
    attempts: int
    next_attempt_at: str | None


class Inbox:
    """The ``telegram_updates``/``telegram_state`` rows of one bot."""

    def __init__(self, db: Database, bot: str) -> None:
        self.db = db
        self.bot = bot

    def next_offset(self) -> int | None:
        """The offset the next ``getUpdates`` sends (``None`` before the first update)."""
        with self.db.locked() as conn:
            row = conn.execute(
                "SELECT next_offset FROM telegram_state WHERE bot = ?", (self.bot,)
            ).fetchone()
        return None if row is None else int(row[0])

    def record(
        self, updates: Sequence[tuple[int, str]], now: datetime, high: int | None = None
    ) -> int:
        """Store ``(update_id, payload JSON)`` pairs and move the offset past them (or to
        ``high`` when given: past updates that were skipped), atomically.

        Duplicates (an update already recorded) are ignored. Returns how many were new.
        """
        if not updates and high is None:
            return 0
        stamp = ts(now)
        if high is None:
            high = max(update_id for update_id, _ in updates) + 1
        with self.db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO telegram_updates (bot, update_id, payload, received_at) "
                "VALUES (?, ?, ?, ?)",
                [(self.bot, update_id, payload, stamp) for update_id, payload in updates],
            )
            added = conn.total_changes - before
            conn.execute(
                "INSERT INTO telegram_state (bot, next_offset) VALUES (?, ?) "
                "ON CONFLICT(bot) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
                (self.bot, high),
            )
        return added

    def pending(self, limit: int = 500) -> list[InboxItem]:
        """Undelivered, live updates in ``update_id`` order (due or not: order is kept per chat)."""
        with self.db.locked() as conn:
            rows = conn.execute(
                "SELECT update_id, payload, attempts, next_attempt_at FROM telegram_updates "
                "WHERE bot = ? AND delivered_at IS NULL AND dead_at IS NULL "
                "ORDER BY update_id LIMIT ?",
                (self.bot, limit),
            ).fetchall()
        return [InboxItem(int(r[0]), str(r[1]), int(r[2]), r[3]) for r in rows]

    def mark_delivered(self, update_id: int, now: datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE telegram_updates SET delivered_at = ?, last_error = NULL "
                "WHERE bot = ? AND update_id = ?",
                (ts(now), self.bot, update_id),
            )

    def mark_failed(
        self, update_id: int, error: str, *, retry_at: datetime | None, now: datetime
    ) -> None:
        """Count a failed delivery; ``retry_at=None`` gives up on it (``dead_at``)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE telegram_updates SET attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ?, dead_at = ? WHERE bot = ? AND update_id = ?",
                (
                    error[:500],
                    None if retry_at is None else ts(retry_at),
                    ts(now) if retry_at is None else None,
                    self.bot,
                    update_id,
                ),
            )

    def reset_backoff(self) -> None:
        """Make every pending update due now (a restart retries at once)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE telegram_updates SET next_attempt_at = NULL WHERE bot = ? "
                "AND delivered_at IS NULL AND dead_at IS NULL",
                (self.bot,),
            )

    def dead(self) -> list[tuple[int, str]]:
        """Updates given up on: ``(update_id, last_error)``."""
        with self.db.locked() as conn:
            rows = conn.execute(
                "SELECT update_id, COALESCE(last_error, '') FROM telegram_updates "
                "WHERE bot = ? AND dead_at IS NOT NULL ORDER BY update_id",
                (self.bot,),
            ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def prune(self, before: datetime) -> int:
        """Forget delivered (or dead) updates received before ``before``; keeps the offset."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM telegram_updates WHERE bot = ? AND received_at < ? "
                "AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)",
                (self.bot, ts(before)),
            ).rowcount
