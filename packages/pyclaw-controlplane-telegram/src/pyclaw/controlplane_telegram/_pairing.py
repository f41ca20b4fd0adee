"""Pairing: an unknown user gets a one-time code; the owner approves it (``pyclaw pairing approve``).

The functions here take a ``pyclaw.storage.Database`` and are synchronous, so the CLI can call them
from another process than the daemon: the channel reads ``telegram_allowed`` for every message of
a user outside the configured allowlist, so an approval takes effect at the user's next message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyclaw.controlplane_telegram._errors import PairingNotFoundError
from pyclaw.controlplane_telegram._schema import TELEGRAM_MIGRATIONS, ts
from pyclaw.meta import Model, utcnow
from pyclaw.storage import Database

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Pairing codes avoid look-alikes (0/O, 1/I/L)."""
CODE_LENGTH = 8


class PairingRequest(Model):
    """A pending pairing: who asked, and the code the owner approves."""

    bot: str
    code: str
    user_id: int
    chat_id: int
    name: str
    created_at: datetime
    expires_at: datetime


class PairedUser(Model):
    """A Telegram user allowed through pairing (the configured allowlist is not listed here)."""

    bot: str
    user_id: int
    chat_id: int | None
    name: str
    approved_at: datetime
    code: str | None = None


@dataclass(frozen=True, slots=True)
class PairingTicket:
    """What to tell an unknown user: their code, and whether to say it now (rate limit)."""

    code: str
    expires_at: datetime
    reply: bool


def normalize_code(code: str) -> str:
    """``"abcd-efgh "`` → ``"ABCDEFGH"``."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_paired(db: Database, bot: str, user_id: int) -> bool:
    """Whether ``user_id`` was paired with ``bot``."""
    with db.locked() as conn:
        row = conn.execute(
            "SELECT 1 FROM telegram_allowed WHERE bot = ? AND user_id = ?", (bot, user_id)
        ).fetchone()
    return row is not None


def pairing_ticket(
    db: Database,
    bot: str,
    *,
    user_id: int,
    chat_id: int,
    name: str,
    now: datetime,
    ttl: float,
    reply_interval: float,
    max_pending: int,
) -> PairingTicket | None:
    """The pending code of this user (created if needed); ``None`` when too many are pending.

    The same user asking again gets the same code until it expires; ``reply`` is true at most
    once per ``reply_interval`` seconds per user.
    """
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT code, expires_at, replied_at FROM telegram_pairing WHERE bot = ? "
            "AND user_id = ? AND approved_at IS NULL AND expires_at > ? "
            "ORDER BY created_at DESC LIMIT 1",
            (bot, user_id, ts(now)),
        ).fetchone()
        if row is not None:
            code, expires, replied = str(row[0]), datetime.fromisoformat(row[1]), row[2]
            due = (
                replied is None
                or datetime.fromisoformat(replied) + timedelta(seconds=reply_interval) <= now
            )
            if due:
                conn.execute(
                    "UPDATE telegram_pairing SET replied_at = ? WHERE bot = ? AND code = ?",
                    (ts(now), bot, code),
                )
            return PairingTicket(code, expires, due)
        pending = conn.execute(
            "SELECT COUNT(*) FROM telegram_pairing WHERE bot = ? AND approved_at IS NULL "
            "AND expires_at > ?",
            (bot, ts(now)),
        ).fetchone()[0]
        if int(pending) >= max_pending:
            return None
        code = _new_code()
        expires = now + timedelta(seconds=ttl)
        conn.execute(
            "INSERT INTO telegram_pairing (bot, code, user_id, chat_id, name, created_at, "
            "expires_at, replied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (bot, code, user_id, chat_id, name, ts(now), ts(expires), ts(now)),
        )
        return PairingTicket(code, expires, True)


def approve_pairing(
    db: Database, code: str, *, bot: str | None = None, now: datetime | None = None
) -> PairedUser:
    """Approve a pending pairing: its user may talk to the bot from now on.

    Raises ``PairingNotFoundError`` when no pending, unexpired pairing has ``code``.
    """
    db.ensure(TELEGRAM_MIGRATIONS)
    wanted = normalize_code(code)
    when = now or utcnow()
    with db.transaction() as conn:
        query = (
            "SELECT bot, code, user_id, chat_id, name, expires_at FROM telegram_pairing "
            "WHERE code = ? AND approved_at IS NULL"
        )
        params: tuple[str, ...] = (wanted,)
        if bot is not None:
            query += " AND bot = ?"
            params = (wanted, bot)
        row = conn.execute(query, params).fetchone()
        if row is None:
            raise PairingNotFoundError(f"no pending pairing with code {wanted!r}")
        if datetime.fromisoformat(row[5]) <= when:
            raise PairingNotFoundError(
                f"pairing code {wanted!r} has expired", hint="ask the user to message the bot again"
            )
        conn.execute(
            "UPDATE telegram_pairing SET approved_at = ? WHERE bot = ? AND code = ?",
            (ts(when), row[0], row[1]),
        )
        conn.execute(
            "INSERT INTO telegram_allowed (bot, user_id, chat_id, name, code, approved_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(bot, user_id) DO UPDATE SET "
            "chat_id = excluded.chat_id, name = excluded.name, code = excluded.code, "
            "approved_at = excluded.approved_at",
            (row[0], row[2], row[3], row[4], row[1], ts(when)),
        )
    return PairedUser(
        bot=str(row[0]),
        user_id=int(row[2]),
        chat_id=int(row[3]),
        name=str(row[4]),
        approved_at=when,
        code=str(row[1]),
    )


def list_pairings(db: Database, *, now: datetime | None = None) -> list[PairingRequest]:
    """Pending, unexpired pairing requests, oldest first."""
    db.ensure(TELEGRAM_MIGRATIONS)
    with db.locked() as conn:
        rows = conn.execute(
            "SELECT bot, code, user_id, chat_id, name, created_at, expires_at "
            "FROM telegram_pairing WHERE approved_at IS NULL AND expires_at > ? "
            "ORDER BY created_at",
            (ts(now or utcnow()),),
        ).fetchall()
    return [
        PairingRequest(
            bot=str(r[0]),
            code=str(r[1]),
            user_id=int(r[2]),
            chat_id=int(r[3]),
            name=str(r[4]),
            created_at=datetime.fromisoformat(r[5]),
            expires_at=datetime.fromisoformat(r[6]),
        )
        for r in rows
    ]


def list_paired_users(db: Database) -> list[PairedUser]:
    """Users allowed through pairing, oldest approval first."""
    db.ensure(TELEGRAM_MIGRATIONS)
    with db.locked() as conn:
        rows = conn.execute(
            "SELECT bot, user_id, chat_id, name, approved_at, code FROM telegram_allowed "
            "ORDER BY approved_at"
        ).fetchall()
    return [
        PairedUser(
            bot=str(r[0]),
            user_id=int(r[1]),
            chat_id=None if r[2] is None else int(r[2]),
            name=str(r[3]),
            approved_at=datetime.fromisoformat(r[4]),
            code=None if r[5] is None else str(r[5]),
        )
        for r in rows
    ]


def revoke_paired_user(db: Database, user_id: int, *, bot: str | None = None) -> bool:
    """Remove a paired user; returns whether there was one."""
    db.ensure(TELEGRAM_MIGRATIONS)
    with db.transaction() as conn:
        if bot is None:
            cursor = conn.execute("DELETE FROM telegram_allowed WHERE user_id = ?", (user_id,))
        else:
            cursor = conn.execute(
                "DELETE FROM telegram_allowed WHERE bot = ? AND user_id = ?", (bot, user_id)
            )
        return cursor.rowcount > 0
