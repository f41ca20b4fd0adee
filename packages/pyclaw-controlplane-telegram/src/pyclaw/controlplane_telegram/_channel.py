"""``TelegramChannel``: the ``pyclaw.meta.Channel`` for Telegram (long polling in, replies out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from html import escape, unescape
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import TelegramError as PTBError
from telegram.request import HTTPXRequest

from pyclaw.controlplane_telegram import _pairing
from pyclaw.controlplane_telegram._approvals import (
    CHOICES,
    ApprovalStore,
    approval_html,
    callback_data,
    window_label,
)
from pyclaw.controlplane_telegram._format import Chunk, render, render_plain
from pyclaw.controlplane_telegram._inbound import Inbound
from pyclaw.controlplane_telegram._inbox import Inbox
from pyclaw.controlplane_telegram._ingest import Ingestion
from pyclaw.controlplane_telegram._live import StreamHandle, typing_indicator
from pyclaw.controlplane_telegram._outbound import Outbox, Sender, chat_ref
from pyclaw.controlplane_telegram._retry import RetryPolicy, call_api
from pyclaw.controlplane_telegram._schema import TELEGRAM_MIGRATIONS
from pyclaw.controlplane_telegram._settings import TelegramSettings
from pyclaw.meta import (
    ApprovalRequest,
    ControlSink,
    OutboundMessage,
    UsageError,
    utcnow,
)
from pyclaw.storage import Database

log = logging.getLogger("pyclaw.controlplane_telegram")

Sleep = Callable[[float], Awaitable[None]]
_TAG = re.compile(r"<[^>]+>")


class TelegramChannel:
    """Telegram as a PyClaw channel, over PTB's ``Bot`` and the shared ``Database``.

    ``start(sink)`` checks the token (``getMe``), deletes a webhook (``delete_webhook``), polls once
    without waiting (so a 409 conflict raises ``TelegramConflictError`` right there) and starts
    the polling and delivery tasks; ``wait()`` returns the polling task's fatal error, if any.
    Every update becomes at most one ``ControlEvent`` passed to ``sink``: messages and commands
    of allowed users, approval-button presses that passed validation, reactions. The sink must
    be idempotent on ``ControlEvent.external_id`` (a crash between delivery and its record
    re-delivers) and should return promptly (queue the work): deliveries are sequential.
    """

    def __init__(
        self,
        settings: TelegramSettings,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        db.ensure(TELEGRAM_MIGRATIONS)
        self.settings = settings
        self.db = db
        self.clock = clock
        self.bot_key = settings.bot_id
        self.inbox = Inbox(db, self.bot_key)
        self.approvals = ApprovalStore(db, self.bot_key)
        self.outbox = Outbox(db, self.bot_key)
        token = settings.token.get_secret_value()
        self.send_policy = RetryPolicy(
            initial=settings.backoff_initial,
            maximum=settings.backoff_max,
            attempts=settings.send_attempts,
            max_retry_after=settings.max_retry_after,
            sleep=sleep,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
            secret=token,
        )
        self.poll_policy = RetryPolicy(
            initial=settings.backoff_initial,
            maximum=settings.backoff_max,
            attempts=None,
            max_retry_after=settings.max_retry_after,
            sleep=sleep,
            rng=self.send_policy.rng,
            secret=token,
        )
        self._bot: Bot | None = None
        self._sender: Sender | None = None
        self._ingestion: Ingestion | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._poll_task: asyncio.Task[None] | None = None
        self._ready = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.settings.channel_name

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> tuple[Bot, Sender]:
        """The initialized PTB ``Bot`` (``getMe`` checks the token) and its sender."""
        async with self._ready:
            if self._bot is None or self._sender is None:
                s = self.settings
                # A plain-http API (a local Bot API server, the test fake) never does TLS: skip
                # building the CA store httpx loads for every client (~0.1 s each).
                plain_http = {"verify": False} if s.api_base_url.startswith("http://") else None
                bot = Bot(
                    s.token.get_secret_value(),
                    base_url=f"{s.api_base_url}/bot",
                    base_file_url=f"{s.api_base_url}/file/bot",
                    request=HTTPXRequest(
                        connection_pool_size=8,
                        connect_timeout=s.connect_timeout,
                        read_timeout=s.request_timeout,
                        write_timeout=s.request_timeout,
                        pool_timeout=s.request_timeout,
                        httpx_kwargs=plain_http,
                    ),
                    get_updates_request=HTTPXRequest(
                        connection_pool_size=1,
                        connect_timeout=s.connect_timeout,
                        read_timeout=s.request_timeout,  # PTB adds the poll timeout to this
                        write_timeout=s.request_timeout,
                        pool_timeout=s.request_timeout,
                        httpx_kwargs=plain_http,
                    ),
                )
                try:
                    await call_api("getMe", bot.initialize, self.send_policy)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await bot.shutdown()
                    raise
                self._bot, self._sender = (
                    bot,
                    Sender(bot, self.outbox, self.send_policy, self.clock),
                )
            return self._bot, self._sender

    async def start(self, sink: ControlSink) -> None:
        """Connect, poll once (a conflict raises here), then poll and deliver in the background."""
        if self._tasks:
            raise UsageError("the Telegram channel is already started")
        try:
            await self._start(sink)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, sink: ControlSink) -> None:
        bot, _ = await self.connect()
        inbound = Inbound(self, sink)
        ingestion = Ingestion(
            bot,
            self.inbox,
            self.settings,
            handle=inbound.handle,
            on_dead=inbound.report_dead,
            poll_policy=self.poll_policy,
            clock=self.clock,
        )
        self._ingestion = ingestion
        if self.settings.delete_webhook:
            await call_api("deleteWebhook", bot.delete_webhook, self.send_policy)
        await self.db.run(
            self.inbox.prune, self.clock() - timedelta(days=self.settings.retention_days)
        )
        await self.db.run(self.inbox.reset_backoff)
        await ingestion.poll_once(0)
        await self._set_commands(bot)
        self._poll_task = asyncio.create_task(ingestion.run_polling(), name="telegram-poll")
        self._tasks = [
            self._poll_task,
            asyncio.create_task(ingestion.run_delivery(), name="telegram-deliver"),
        ]
        log.info("telegram: polling as @%s", bot.username)

    async def wait(self) -> None:
        """Wait until polling ends: raises its fatal error (e.g. ``TelegramConflictError``);
        returns normally when ``stop()`` ended it."""
        task = self._poll_task
        if task is None:
            raise UsageError("the Telegram channel is not started")
        await asyncio.wait([task])
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error

    @property
    def failure(self) -> BaseException | None:
        """Why polling stopped on its own (``None`` while it runs or after ``stop()``)."""
        task = self._poll_task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    async def ingest(self, updates: Sequence[Mapping[str, Any]]) -> int:
        """Record raw Bot API updates from another source (a webhook) and deliver them like
        polled ones; returns how many were new. The channel must be started."""
        if self._ingestion is None:
            raise UsageError("the Telegram channel is not started")
        return await self._ingestion.ingest(updates)

    async def stop(self) -> None:
        """Stop polling and delivering (recorded updates are delivered after the next start)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        bot, self._bot, self._sender = self._bot, None, None
        if bot is not None:
            with contextlib.suppress(Exception):
                await bot.shutdown()

    async def _set_commands(self, bot: Bot) -> None:
        described = {
            "new": "Start a new session",
            "stop": "Stop the running task",
            "status": "Show what is running",
        }
        commands = [BotCommand(c, described.get(c, c)) for c in self.settings.commands]
        try:
            await bot.set_my_commands(commands)
        except PTBError as exc:  # the menu is a nicety
            log.debug("telegram: setMyCommands failed: %s", exc)

    # -- outbound ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> str | None:
        """Send a reply (Markdown unless ``data["format"] == "plain"``) in as many chunks as needed.

        Chunks already sent under ``message.idempotency_key`` are not sent again. Returns the id
        of the last message sent (``None`` when the text was blank).
        """
        _, sender = await self.connect()
        limit = self.settings.chunk_limit
        plain = message.data.get("format") == "plain"
        chunks = await render(message.text, limit, plain=plain)
        if not chunks:
            return None
        reply_to = (
            int(message.reply_to) if message.reply_to and message.reply_to.isdigit() else None
        )
        ids = await sender.send_chunks(
            message.chat_id, chunks, key=message.idempotency_key, reply_to=reply_to
        )
        return str(ids[-1])

    @contextlib.asynccontextmanager
    async def typing(self, chat_id: str) -> AsyncGenerator[None]:
        """Show "typing…" in ``chat_id`` while the block runs."""
        bot, _ = await self.connect()
        async with typing_indicator(bot, chat_id, self.settings.typing_interval):
            yield

    async def stream(self, chat_id: str, *, reply_to: int | None = None) -> StreamHandle:
        """A reply streamed by editing one message (see ``StreamHandle``)."""
        _, sender = await self.connect()
        return StreamHandle(
            sender,
            chat_id,
            limit=self.settings.chunk_limit,
            interval=self.settings.stream_interval,
            reply_to=reply_to,
        )

    async def react(self, chat_id: str, message_id: int, emoji: str) -> None:
        """Put an emoji reaction on a message (e.g. 👀 when work starts)."""
        bot, _ = await self.connect()
        await call_api(
            "setMessageReaction",
            lambda: bot.set_message_reaction(chat_ref(chat_id), message_id, emoji),
            self.send_policy,
        )

    # -- approvals --------------------------------------------------------------------------

    def _keyboard(self, token: str) -> InlineKeyboardMarkup:
        def button(code: str) -> InlineKeyboardButton:
            label = CHOICES[code].label
            if code == "w":
                label = f"⏱ Allow {window_label(self.settings.approval_window)}"
            return InlineKeyboardButton(label, callback_data=callback_data(token, code))

        return InlineKeyboardMarkup(
            [[button("o"), button("w")], [button("s"), button("f")], [button("d")]]
        )

    async def request_approval(self, request: ApprovalRequest, chat_id: str) -> None:
        """Ask in ``chat_id`` with inline buttons (once per request, even if called again)."""
        _, sender = await self.connect()
        now = self.clock()
        expires = request.expires_at or now + timedelta(seconds=self.settings.approval_ttl)
        html = approval_html(request, expires)
        row = await self.db.run(lambda: self.approvals.create(request, chat_id, html, expires, now))
        if row.message_id is not None:
            return
        chunk = Chunk(_plain(html), html)
        message = await sender.send_chunk(row.chat_id, chunk, markup=self._keyboard(row.token))
        await self.db.run(self.approvals.attach, row.token, message.message_id)

    async def approval_resolved(self, request_id: str, outcome: str) -> bool:
        """Show ``outcome`` under the request's message and remove its buttons (once).

        Returns whether there was an unresolved request to update. Call it after the decision
        was applied, and for requests that expired unanswered.
        """
        row = await self.db.run(self.approvals.resolve, request_id, outcome, self.clock())
        if row is None or row.message_id is None:
            return row is not None
        _, sender = await self.connect()
        html = f"{row.text}\n\n<b>{escape(outcome)}</b>"
        await sender.edit(row.chat_id, row.message_id, Chunk(_plain(html), html))
        return True

    # -- pairing ----------------------------------------------------------------------------

    async def approve_pairing(self, code: str) -> _pairing.PairedUser:
        """Approve a pairing code and tell the user they can talk to the bot now."""
        paired = await self.db.run(
            lambda: _pairing.approve_pairing(self.db, code, bot=self.bot_key)
        )
        if paired.chat_id is not None:
            _, sender = await self.connect()
            await sender.send_chunks(
                str(paired.chat_id),
                render_plain("You are paired: you can talk to me now."),
                key=f"paired:{paired.code}",
            )
        return paired

    async def list_pairings(self) -> list[_pairing.PairingRequest]:
        pending = await self.db.run(lambda: _pairing.list_pairings(self.db, now=self.clock()))
        return [p for p in pending if p.bot == self.bot_key]


def _plain(html: str) -> str:
    return unescape(_TAG.sub("", html))
