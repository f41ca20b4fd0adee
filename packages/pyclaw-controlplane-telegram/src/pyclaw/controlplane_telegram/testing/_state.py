"""What the fake Bot API remembers: pending updates, sent messages, every call, queued faults."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

CONFLICT_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request the fake received (``params`` decoded), in arrival order."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as it is now (after edits)."""

    chat_id: int
    message_id: int
    text: str
    entities: list[dict[str, object]]
    html: str | None
    reply_markup: dict[str, Any] | None
    reply_to: int | None
    date: int
    edits: int = 0
    reactions: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row flattened (empty when there is none)."""
        rows = cast(
            "list[list[dict[str, Any]]]", (self.reply_markup or {}).get("inline_keyboard") or []
        )
        return [button for row in rows for button in row]


@dataclass(frozen=True, slots=True)
class Fault:
    """An error answer queued for the next call(s) of one method."""

    code: int
    description: str
    retry_after: int | None = None


class FakeState:
    """The fake's memory; every access holds ``cond``'s lock."""

    def __init__(self, token: str, username: str) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.username = username
        self.cond = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.history: dict[int, dict[str, Any]] = {}
        self.next_update_id = 100
        self.next_message_id = 1000
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.calls: list[ApiCall] = []
        self.faults: dict[str, deque[Fault | None]] = {}
        self.answered: dict[str, dict[str, Any]] = {}
        self.queries: set[str] = set()
        self.allowed_updates: list[str] | None = None
        self.webhook_url: str | None = None
        self.poll_generation = 0
        self.closing = False
        self.before_call: Callable[[str, dict[str, Any]], bool] | None = None
        """Called (on the server's thread, without the lock) before each call but
        ``getUpdates``; returning ``True`` drops the call: it has no effect and gets a 502."""

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "PyClaw Test Bot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def add_update(self, body: dict[str, Any]) -> int:
        """Queue an update (``body`` without ``update_id``); returns its id. Wakes long polls."""
        with self.cond:
            update_id = self.next_update_id
            self.next_update_id += 1
            update = {"update_id": update_id, **body}
            self.updates.append(update)
            self.history[update_id] = update
            self.cond.notify_all()
            return update_id

    def requeue(self, update_id: int) -> None:
        """Deliver an already-delivered update again (Telegram does, rarely)."""
        with self.cond:
            self.updates.append(dict(self.history[update_id]))
            self.updates.sort(key=lambda u: int(u["update_id"]))
            self.cond.notify_all()

    def take_fault(self, method: str) -> Fault | None:
        """The fault for this call, if one is queued (``None`` entries let a call through)."""
        queue = self.faults.get(method.lower())
        return queue.popleft() if queue else None

    def record(self, method: str, params: dict[str, Any]) -> None:
        self.calls.append(ApiCall(method, params, time.monotonic()))
