"""Sending: chunks with an idempotency key each, HTML with a plain-text fallback, retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters

from pyclaw.controlplane_telegram._format import Chunk
from pyclaw.controlplane_telegram._retry import RetryPolicy, TelegramBadRequestError, call_api
from pyclaw.controlplane_telegram._schema import ts
from pyclaw.storage import Database

log = logging.getLogger("pyclaw.controlplane_telegram")


def chat_ref(chat_id: str) -> int | str:
    """A chat id as Telegram takes it: a number, or an ``@channelname``."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


class Outbox:
    """``telegram_outbox``: which chunk of which idempotency key was sent, as which message."""

    def __init__(self, db: Database, bot: str) -> None:
        self.db = db
        self.bot = bot

    def sent(self, keys: Sequence[str]) -> dict[str, int]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self.db.locked() as conn:
            rows = conn.execute(
                f"SELECT idempotency_key, message_id FROM telegram_outbox "
                f"WHERE bot = ? AND idempotency_key IN ({marks})",
                (self.bot, *keys),
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def record(self, key: str, chat_id: str, message_id: int, now: datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO telegram_outbox (bot, idempotency_key, chat_id, message_id, "
                "sent_at) VALUES (?, ?, ?, ?, ?)",
                (self.bot, key, chat_id, message_id, ts(now)),
            )


class Sender:
    """Sends and edits messages through PTB's ``Bot`` with the channel's retry policy."""

    def __init__(
        self, bot: Bot, outbox: Outbox, policy: RetryPolicy, clock: Callable[[], datetime]
    ) -> None:
        self.bot = bot
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def send_chunk(
        self,
        chat_id: str,
        chunk: Chunk,
        *,
        reply_to: int | None = None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        """Send one chunk as HTML; if Telegram cannot parse it, send its text unformatted."""
        reply = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )
        preview = LinkPreviewOptions(is_disabled=True)

        async def formatted() -> Message:
            return await self.bot.send_message(
                chat_ref(chat_id),
                chunk.html,
                parse_mode="HTML",
                reply_parameters=reply,
                reply_markup=markup,
                link_preview_options=preview,
            )

        async def plain() -> Message:
            return await self.bot.send_message(
                chat_ref(chat_id),
                chunk.text,
                reply_parameters=reply,
                reply_markup=markup,
                link_preview_options=preview,
            )

        try:
            return await call_api("sendMessage", formatted, self.policy)
        except TelegramBadRequestError as exc:
            if not exc.parse_error:
                raise
            log.warning("telegram: formatting refused (%s); sending plain text", exc.description)
            return await call_api("sendMessage", plain, self.policy)

    async def send_chunks(
        self, chat_id: str, chunks: Sequence[Chunk], *, key: str, reply_to: int | None = None
    ) -> list[int]:
        """Send every chunk not yet recorded under ``key#<index>``; returns all message ids.

        Each chunk is recorded right after Telegram accepted it, so a send repeated after a
        crash sends only what is missing. Concurrent sends with one key are serialized.
        """
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                keys = [f"{key}#{index}" for index in range(len(chunks))]
                done = await self.outbox.db.run(self.outbox.sent, keys)
                ids: list[int] = []
                for index, chunk in enumerate(chunks):
                    if keys[index] in done:
                        ids.append(done[keys[index]])
                        continue
                    message = await self.send_chunk(
                        chat_id, chunk, reply_to=reply_to if index == 0 else None
                    )
                    await self.outbox.db.run(
                        self.outbox.record, keys[index], chat_id, message.message_id, self.clock()
                    )
                    ids.append(message.message_id)
                return ids
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def edit(
        self,
        chat_id: str,
        message_id: int,
        chunk: Chunk,
        *,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Replace a message's text (HTML, plain on a parse error); "not modified" is fine."""

        async def edit(text: str, mode: str | None) -> object:
            return await self.bot.edit_message_text(
                text,
                chat_id=chat_ref(chat_id),
                message_id=message_id,
                parse_mode=mode,
                reply_markup=markup,
            )

        try:
            try:
                await call_api("editMessageText", lambda: edit(chunk.html, "HTML"), self.policy)
            except TelegramBadRequestError as exc:
                if not exc.parse_error:
                    raise
                await call_api("editMessageText", lambda: edit(chunk.text, None), self.policy)
        except TelegramBadRequestError as exc:
            if not exc.not_modified:
                raise
