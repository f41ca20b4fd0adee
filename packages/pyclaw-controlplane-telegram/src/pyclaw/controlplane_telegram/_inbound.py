"""Inbound updates: who may talk, pairing for strangers, commands, button presses, reactions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Message, Update

from pyclaw.controlplane_telegram import _pairing
from pyclaw.controlplane_telegram._approvals import REFUSALS, parse_callback
from pyclaw.controlplane_telegram._errors import TelegramError
from pyclaw.controlplane_telegram._format import render_plain
from pyclaw.controlplane_telegram._retry import call_api
from pyclaw.controlplane_telegram._updates import message_event, origin, reaction_event
from pyclaw.meta import ControlEvent, ControlSink, GrantScope

if TYPE_CHECKING:
    from pyclaw.controlplane_telegram._channel import TelegramChannel

log = logging.getLogger("pyclaw.controlplane_telegram")


class Inbound:
    """Turns one recorded update into at most one ``ControlEvent`` for ``sink``.

    Raising means "not handled": the update stays undelivered and is retried.
    """

    def __init__(self, channel: TelegramChannel, sink: ControlSink) -> None:
        self.channel = channel
        self.sink = sink
        self.name = channel.name
        self.settings = channel.settings
        self.db = channel.db
        self.bot_key = channel.bot_key
        self.clock = channel.clock
        self.approvals = channel.approvals
        self.send_policy = channel.send_policy

    async def is_allowed(self, user_id: int | None) -> bool:
        if user_id is None:
            return False
        if user_id in self.settings.allowed_user_ids:
            return True
        return await self.db.run(_pairing.is_paired, self.db, self.bot_key, user_id)

    async def _deliver(self, event: ControlEvent) -> None:
        await self.sink(event)

    async def handle(self, update_id: int, update: Update) -> None:
        if update.message is not None:
            await self._on_message(update_id, update.message)
        elif update.callback_query is not None:
            await self._on_press(update_id, update, update.callback_query)
        elif update.message_reaction is not None:
            if await self.is_allowed(origin(update).user_id):
                await self._deliver(reaction_event(self.name, update_id, update.message_reaction))
        else:
            log.debug("telegram: ignoring update %d (not a kind PyClaw handles)", update_id)

    async def _on_message(self, update_id: int, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        if await self.is_allowed(user.id):
            bot, _ = await self.channel.connect()
            event = message_event(
                self.name, update_id, message, self.settings.commands, bot.username
            )
            await self._deliver(event)
            return
        if message.chat.type != "private":
            return  # strangers in groups are ignored, never answered
        s = self.settings
        ticket = await self.db.run(
            lambda: _pairing.pairing_ticket(
                self.db,
                self.bot_key,
                user_id=user.id,
                chat_id=message.chat.id,
                name=user.full_name,
                now=self.clock(),
                ttl=s.pairing_ttl,
                reply_interval=s.pairing_reply_interval,
                max_pending=s.max_pending_pairings,
            )
        )
        log.info("telegram: refused message from unknown user %d", user.id)
        if ticket is None or not ticket.reply:
            return
        minutes = max(1, round((ticket.expires_at - self.clock()).total_seconds() / 60))
        text = (
            "I don't know you yet, so I can't help you here.\n"
            f"Your pairing code: {ticket.code}\n"
            f"Ask the owner of this bot to run: pyclaw pairing approve {ticket.code}\n"
            f"(valid for {minutes} min; your Telegram user id is {user.id})"
        )
        _, sender = await self.channel.connect()
        await sender.send_chunks(str(message.chat.id), render_plain(text), key=f"pair:{update_id}")

    async def _answer(self, query: CallbackQuery, text: str | None, *, alert: bool = False) -> None:
        """Answer a button press (best effort: a late answer is refused by Telegram, harmlessly)."""
        bot, _ = await self.channel.connect()
        try:
            await call_api(
                "answerCallbackQuery",
                lambda: bot.answer_callback_query(query.id, text=text, show_alert=alert),
                self.send_policy,
            )
        except TelegramError as exc:
            log.info("telegram: could not answer a button press: %s", exc)

    async def _on_press(self, update_id: int, update: Update, query: CallbackQuery) -> None:
        where = origin(update)
        if not await self.is_allowed(where.user_id):
            await self._answer(query, REFUSALS["foreign"], alert=True)
            return
        parsed = parse_callback(query.data or "")
        message_id = query.message.message_id if query.message is not None else None
        if parsed is None:
            await self._deliver(
                ControlEvent(
                    channel=self.name,
                    kind="callback",
                    external_id=f"{self.name}:{update_id}",
                    chat_id=str(where.chat_id),
                    user_id=str(where.user_id),
                    text=query.data,
                    data={"data": query.data, "message_id": message_id},
                )
            )
            await self._answer(query, None)
            return
        token, choice = parsed
        decided_by = f"telegram:{where.user_id}"
        outcome, row = await self.db.run(
            lambda: self.approvals.press(
                token,
                chat_id=str(where.chat_id),
                update_id=update_id,
                user=decided_by,
                choice=choice.code,
                now=self.clock(),
            )
        )
        if outcome != "ok" or row is None:
            await self._answer(query, REFUSALS.get(outcome, REFUSALS["unknown"]), alert=True)
            if outcome == "expired" and row is not None:
                await self.channel.approval_resolved(row.request_id, "⌛ Expired: not run")
            return
        window = self.settings.approval_window if choice.scope is GrantScope.WINDOW else None
        await self._deliver(
            ControlEvent(
                channel=self.name,
                kind="callback",
                external_id=f"{self.name}:{update_id}",
                chat_id=row.chat_id,
                user_id=str(where.user_id),
                text=choice.verdict.value,
                data={
                    "request_id": row.request_id,
                    "call_hash": row.call_hash,
                    "verdict": choice.verdict.value,
                    "scope": choice.scope.value,
                    "window_seconds": window,
                    "decided_by": decided_by,
                    "message_id": message_id,
                },
            )
        )
        await self._answer(query, f"{choice.done} ✓")

    async def report_dead(self, update_id: int, update: Update, error: str) -> None:
        message = update.message
        if message is None or not await self.is_allowed(origin(update).user_id):
            return
        _, sender = await self.channel.connect()
        await sender.send_chunks(
            str(message.chat.id),
            render_plain("Sorry, I could not process that message (it failed repeatedly)."),
            key=f"dead:{update_id}",
            reply_to=message.message_id,
        )
