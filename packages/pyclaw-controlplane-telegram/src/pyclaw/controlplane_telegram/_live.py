"""Live feedback: the typing indicator and a streamed reply edited in place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable

from telegram import Bot
from telegram.error import TelegramError

from pyclaw.controlplane_telegram._format import render
from pyclaw.controlplane_telegram._outbound import Sender, chat_ref
from pyclaw.meta import UsageError

log = logging.getLogger("pyclaw.controlplane_telegram")


@contextlib.asynccontextmanager
async def typing_indicator(bot: Bot, chat_id: str, interval: float) -> AsyncGenerator[None]:
    """Show "typing…" in ``chat_id`` (re-sent every ``interval`` s: Telegram shows it ~5 s)."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_ref(chat_id), "typing")
            except TelegramError as exc:  # best effort: a missed indicator is harmless
                log.debug("telegram: typing indicator failed: %s", exc)
            await asyncio.sleep(interval)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class StreamHandle:
    """A reply that grows: ``update(text)`` edits one message (at most once per ``interval`` s),
    ``finish(text)`` writes the final text. Text past the length limit continues in new messages.

    ``update`` never waits for the throttle: a too-early update is shown by a deferred edit (the
    latest text wins). Streamed replies have no idempotency key: a crash mid-stream leaves the
    partial message, and the runtime's final ``send`` (if any) is a separate message.
    """

    def __init__(
        self,
        sender: Sender,
        chat_id: str,
        *,
        limit: int,
        interval: float,
        reply_to: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sender = sender
        self.chat_id = chat_id
        self.limit = limit
        self.interval = interval
        self.reply_to = reply_to
        self.monotonic = monotonic
        self.flushes = 0
        self._sent: list[tuple[int, str]] = []
        self._pending: str | None = None
        self._last = float("-inf")
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._finished = False

    @property
    def message_ids(self) -> list[int]:
        return [message_id for message_id, _ in self._sent]

    async def update(self, text: str) -> None:
        """Show ``text`` (the whole reply so far), now or after the throttle interval."""
        if self._finished:
            raise UsageError("this stream is finished")
        self._pending = text
        wait = self._last + self.interval - self.monotonic()
        if wait <= 0 and not self._lock.locked():
            await self._flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._later(max(wait, 0.0)))

    async def finish(self, text: str) -> list[int]:
        """Write the final ``text``; returns the ids of the message(s) that hold it."""
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        self._pending = text
        await self._flush()
        return self.message_ids

    async def _later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        try:
            await self._flush()
        except Exception as exc:  # noqa: BLE001 - a failed interim edit is retried by the next one
            log.warning("telegram: streamed edit failed: %s", exc)

    async def _flush(self) -> None:
        async with self._lock:
            text, self._pending = self._pending, None
            if text is None:
                return
            self._last = self.monotonic()
            self.flushes += 1
            for index, chunk in enumerate(await render(text, self.limit)):
                if index < len(self._sent):
                    message_id, shown = self._sent[index]
                    if shown != chunk.html:
                        await self.sender.edit(self.chat_id, message_id, chunk)
                        self._sent[index] = (message_id, chunk.html)
                    continue
                message = await self.sender.send_chunk(
                    self.chat_id, chunk, reply_to=self.reply_to if index == 0 else None
                )
                self._sent.append((message.message_id, chunk.html))
