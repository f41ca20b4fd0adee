"""Approval buttons: the message, the keyboard, and the ``telegram_approvals`` rows behind them.

``callback_data`` is ``a:<token>:<choice>`` (at most 17 bytes, Telegram allows 64): the random
token maps back to the request, so nothing about the call travels through Telegram's buttons.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Literal

from pyclaw.controlplane_telegram._schema import ts
from pyclaw.meta import ApprovalRequest, GrantScope, Verdict
from pyclaw.storage import Database

PREFIX = "a"
MAX_ARGUMENTS = 600


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: what it grants."""

    code: str
    label: str
    verdict: Verdict
    scope: GrantScope
    done: str


CHOICES: dict[str, Choice] = {
    c.code: c
    for c in (
        Choice("o", "✅ Allow once", Verdict.ALLOW, GrantScope.ONCE, "Allowed once"),
        Choice("w", "⏱ Allow 10 min", Verdict.ALLOW, GrantScope.WINDOW, "Allowed for a while"),
        Choice(
            "s",
            "🗂 Allow this session",
            Verdict.ALLOW,
            GrantScope.SESSION,
            "Allowed for this session",
        ),
        Choice("f", "♾ Always allow", Verdict.ALLOW, GrantScope.FOREVER, "Always allowed"),
        Choice("d", "⛔ Deny", Verdict.DENY, GrantScope.ONCE, "Denied"),
    )
}

PressOutcome = Literal["ok", "unknown", "foreign", "answered", "expired"]

REFUSALS: dict[str, str] = {
    "unknown": "This request is unknown.",
    "foreign": "This approval is not yours.",
    "answered": "This request was already answered.",
    "expired": "This request has expired.",
}


def parse_callback(data: str) -> tuple[str, Choice] | None:
    """``"a:<token>:<choice>"`` → ``(token, choice)``; ``None`` for any other button."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[2] not in CHOICES:
        return None
    return parts[1], CHOICES[parts[2]]


def callback_data(token: str, choice: str) -> str:
    return f"{PREFIX}:{token}:{choice}"


def window_label(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:g} min"
    return f"{minutes / 60:g} h"


def approval_html(request: ApprovalRequest, expires_at: datetime) -> str:
    """The question, HTML-escaped: agent, tool, (shortened) arguments, reason, deadline."""
    arguments = json.dumps(request.call.arguments, ensure_ascii=False, indent=1, sort_keys=True)
    if len(arguments) > MAX_ARGUMENTS:
        arguments = arguments[: MAX_ARGUMENTS - 1] + "…"
    return (
        "🔐 <b>Approval needed</b>\n"
        f"Agent <b>{escape(request.agent)}</b> wants to run <code>{escape(request.call.name)}</code>\n"
        f"<pre>{escape(arguments)}</pre>\n"
        f"Reason: {escape(request.reason)}\n"
        f"Expires: {expires_at.strftime('%Y-%m-%d %H:%M UTC')}"
    )


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    token: str
    request_id: str
    call_hash: str
    chat_id: str
    message_id: int | None
    text: str
    expires_at: datetime
    resolved_at: str | None


_COLUMNS = "token, request_id, call_hash, chat_id, message_id, text, expires_at, resolved_at"


def _row(r: tuple[object, ...]) -> ApprovalRow:
    return ApprovalRow(
        token=str(r[0]),
        request_id=str(r[1]),
        call_hash=str(r[2]),
        chat_id=str(r[3]),
        message_id=None if r[4] is None else int(str(r[4])),
        text=str(r[5]),
        expires_at=datetime.fromisoformat(str(r[6])),
        resolved_at=None if r[7] is None else str(r[7]),
    )


class ApprovalStore:
    """The ``telegram_approvals`` rows of one bot (synchronous: call through ``Database.run``)."""

    def __init__(self, db: Database, bot: str) -> None:
        self.db = db
        self.bot = bot

    def by_request(self, request_id: str) -> ApprovalRow | None:
        with self.db.locked() as conn:
            r = conn.execute(
                f"SELECT {_COLUMNS} FROM telegram_approvals WHERE bot = ? AND request_id = ?",
                (self.bot, request_id),
            ).fetchone()
        return None if r is None else _row(r)

    def create(
        self, request: ApprovalRequest, chat_id: str, text: str, expires_at: datetime, now: datetime
    ) -> ApprovalRow:
        """The row for ``request`` (an existing one is reused: asking twice sends one message)."""
        with self.db.transaction() as conn:
            found = self.by_request(request.id)
            if found is not None:
                return found
            token = secrets.token_urlsafe(9)
            conn.execute(
                "INSERT INTO telegram_approvals (bot, token, request_id, call_hash, chat_id, text, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.bot,
                    token,
                    request.id,
                    request.call_hash,
                    chat_id,
                    text,
                    ts(now),
                    ts(expires_at),
                ),
            )
        row = self.by_request(request.id)
        assert row is not None
        return row

    def attach(self, token: str, message_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE telegram_approvals SET message_id = ? WHERE bot = ? AND token = ?",
                (message_id, self.bot, token),
            )

    def press(
        self, token: str, *, chat_id: str, update_id: int, user: str, choice: str, now: datetime
    ) -> tuple[PressOutcome, ApprovalRow | None]:
        """Validate a press and, when valid, bind the request to this update (one answer only).

        The same update pressed again (a re-delivery after a crash) stays valid.
        """
        with self.db.transaction() as conn:
            r = conn.execute(
                f"SELECT {_COLUMNS}, pressed_update_id FROM telegram_approvals "
                "WHERE bot = ? AND token = ?",
                (self.bot, token),
            ).fetchone()
            if r is None:
                return "unknown", None
            row = _row(r)
            if row.chat_id != chat_id:
                return "foreign", row
            if row.resolved_at is not None or r[8] not in (None, update_id):
                return "answered", row
            if row.expires_at <= now:
                return "expired", row
            conn.execute(
                "UPDATE telegram_approvals SET pressed_update_id = ?, pressed_by = ?, choice = ? "
                "WHERE bot = ? AND token = ?",
                (update_id, user, choice, self.bot, token),
            )
        return "ok", row

    def resolve(self, request_id: str, outcome: str, now: datetime) -> ApprovalRow | None:
        """Mark the request answered; returns its row unless it was already resolved (or unknown)."""
        with self.db.transaction() as conn:
            row = self.by_request(request_id)
            if row is None or row.resolved_at is not None:
                return None
            conn.execute(
                "UPDATE telegram_approvals SET resolved_at = ?, outcome = ? WHERE bot = ? AND token = ?",
                (ts(now), outcome, self.bot, row.token),
            )
        return row
