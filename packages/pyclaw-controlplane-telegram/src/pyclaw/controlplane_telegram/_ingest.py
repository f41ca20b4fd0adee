"""Durable ingestion: poll → record (with the offset, one transaction) → deliver exactly once.

``getUpdates(offset=next_offset)`` both fetches new updates and confirms, to Telegram, every update
below ``next_offset``. The poller records each batch and moves ``next_offset`` past it in one
transaction *before* the next poll, so an update is confirmed only once it is on disk. A separate
delivery task then hands recorded updates to the channel's handler in ``update_id`` order and marks
each delivered when the handler returned. A crash between the two re-delivers on restart: the
sink must therefore be idempotent on ``ControlEvent.external_id`` (``"<channel>:<update_id>"``).

A handler that raises leaves its update undelivered; it is retried with backoff, later updates of
the same chat wait (order per chat is kept), other chats go on. After ``delivery_attempts``
failures the update is marked dead, logged, and reported through ``on_dead``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from telegram import Bot, Update

from pyclaw.controlplane_telegram._errors import TelegramError
from pyclaw.controlplane_telegram._inbox import Inbox, InboxItem
from pyclaw.controlplane_telegram._retry import RetryPolicy, call_api
from pyclaw.controlplane_telegram._settings import TelegramSettings
from pyclaw.controlplane_telegram._updates import chat_key

log = logging.getLogger("pyclaw.controlplane_telegram")

Handler = Callable[[int, Update], Awaitable[None]]
"""Handles one recorded update (``update_id``, parsed update); raising means "try again"."""
DeadHandler = Callable[[int, Update, str], Awaitable[None]]


class Ingestion:
    """The polling loop and the delivery loop of one bot."""

    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        settings: TelegramSettings,
        *,
        handle: Handler,
        on_dead: DeadHandler,
        poll_policy: RetryPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.bot = bot
        self.inbox = inbox
        self.settings = settings
        self.handle = handle
        self.on_dead = on_dead
        self.poll_policy = poll_policy
        self.clock = clock
        self._wake = asyncio.Event()

    # -- recording --------------------------------------------------------------------------

    async def ingest(self, payloads: Sequence[Mapping[str, Any]]) -> int:
        """Record raw Bot API updates (the ingestion contract a webhook would use too).

        An update python-telegram-bot cannot read (a malformed or unknown shape) is logged and
        skipped, never recorded, but the offset still moves past it: one bad update can neither
        block the ones after it nor be fetched forever.
        """
        rows: list[tuple[int, str]] = []
        high: int | None = None
        for payload in payloads:
            try:
                update_id = int(payload["update_id"])
            except (KeyError, TypeError, ValueError):
                log.warning("telegram: ignoring an update without a valid update_id")
                continue
            high = update_id if high is None else max(high, update_id)
            try:
                Update.de_json(dict(payload), self.bot)
                # A lone surrogate (valid in JSON, not in UTF-8) becomes U+FFFD, not a failure.
                text = json.dumps(payload, ensure_ascii=False)
                text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            except Exception as exc:  # noqa: BLE001 - whatever PTB raises on a bad shape
                log.warning("telegram: ignoring unreadable update %d: %s", update_id, exc)
                continue
            rows.append((update_id, text))
        if high is None:
            return 0
        added = await self.inbox.db.run(self.inbox.record, rows, self.clock(), high + 1)
        self._wake.set()
        return added

    async def poll_once(self, wait: int) -> int:
        """One ``getUpdates`` waiting up to ``wait`` s (acknowledging what is recorded), and the
        recording of its batch."""
        offset = await self.inbox.db.run(self.inbox.next_offset)

        async def fetch() -> Any:
            # The raw JSON (not ``get_updates``): PTB parses a batch as a whole, so one update it
            # cannot read would fail the batch, and every later poll, forever. Bot API method
            # names are case-insensitive; the lower-case name keeps PTB from warning that
            # ``get_updates`` exists (it then uses the general connection pool, with this
            # long-poll read timeout).
            return await self.bot.do_api_request(
                "getupdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": wait,
                    "limit": 100,
                    "allowed_updates": list(self.settings.allowed_updates),
                },
                read_timeout=self.settings.request_timeout + wait,
            )

        updates = await call_api("getUpdates", fetch, self.poll_policy)
        if not isinstance(updates, list) or not updates:
            return 0
        payloads: list[Mapping[str, Any]] = [
            cast("Mapping[str, Any]", u)
            for u in cast("list[Any]", updates)
            if isinstance(u, Mapping)
        ]
        return await self.ingest(payloads)

    async def run_polling(self) -> None:
        """Poll until cancelled. Telegram refusals (409, bad token) end it by raising; storage
        failures are logged and retried with backoff."""
        failures = 0
        while True:
            try:
                await self.poll_once(self.settings.poll_timeout)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, TelegramError):
                    raise
                failures += 1
                delay = self.poll_policy.backoff(failures)
                log.error("telegram: recording updates failed (%s); retry in %.1f s", exc, delay)
                await self.poll_policy.sleep(delay)

    # -- delivering -------------------------------------------------------------------------

    async def run_delivery(self) -> None:
        """Deliver recorded updates until cancelled, waking on new ones and on retry deadlines."""
        while True:
            self._wake.clear()
            due = await self.deliver_pending()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=due)

    async def deliver_pending(self) -> float | None:
        """Deliver what is due; returns the seconds until the next retry is due (if any)."""
        items = await self.inbox.db.run(self.inbox.pending)
        waiting: set[str] = set()
        next_due: float | None = None
        for item in items:
            update = Update.de_json(json.loads(item.payload), self.bot)
            chat = chat_key(update)
            if chat in waiting:
                continue
            left = self._seconds_until(item)
            if left > 0:
                waiting.add(chat)
                next_due = left if next_due is None else min(next_due, left)
                continue
            try:
                await self.handle(item.update_id, update)
            except Exception as exc:  # noqa: BLE001 - the update stays recorded and is retried
                delay = self._failed(item, update, exc)
                await self._record_failure(item, update, exc, delay)
                if delay is not None:
                    waiting.add(chat)
                    next_due = delay if next_due is None else min(next_due, delay)
                continue
            await self.inbox.db.run(self.inbox.mark_delivered, item.update_id, self.clock())
        return next_due

    def wake(self) -> None:
        self._wake.set()

    def _seconds_until(self, item: InboxItem) -> float:
        if item.next_attempt_at is None:
            return 0.0
        return (datetime.fromisoformat(item.next_attempt_at) - self.clock()).total_seconds()

    def _failed(self, item: InboxItem, update: Update, exc: Exception) -> float | None:
        """The retry delay for a failed delivery, or ``None`` when it has failed for good."""
        attempts = item.attempts + 1
        if attempts >= self.settings.delivery_attempts:
            return None
        step = self.settings.backoff_initial * 2 ** (attempts - 1)
        delay = min(self.settings.backoff_max, step)
        log.warning(
            "telegram: delivering update %d failed (attempt %d): %r; retry in %.1f s",
            update.update_id,
            attempts,
            exc,
            delay,
        )
        return delay

    async def _record_failure(
        self, item: InboxItem, update: Update, exc: Exception, delay: float | None
    ) -> None:
        now = self.clock()
        retry_at = None if delay is None else now + timedelta(seconds=delay)
        error = f"{type(exc).__name__}: {exc}"
        await self.inbox.db.run(
            lambda: self.inbox.mark_failed(item.update_id, error, retry_at=retry_at, now=now)
        )
        if delay is None:
            log.error(
                "telegram: update %d dropped after %d failed deliveries: %s",
                item.update_id,
                item.attempts + 1,
                error,
            )
            try:
                await self.on_dead(item.update_id, update, error)
            except Exception as report:  # noqa: BLE001 - reporting is best effort
                log.error("telegram: reporting dead update %d failed: %s", item.update_id, report)
