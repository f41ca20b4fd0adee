"""The fake Bot API answers like Telegram: PTB's own errors for Telegram's own texts."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest, Conflict

from pyclaw.controlplane_telegram import Chunk, TelegramChannel
from pyclaw.controlplane_telegram.testing import FakeTelegramServer


async def make_bot(fake: FakeTelegramServer) -> Bot:
    bot = Bot(fake.token, base_url=f"{fake.api_base_url}/bot")
    await bot.initialize()
    return bot


async def test_length_is_checked_after_parsing(fake: FakeTelegramServer) -> None:
    bot = await make_bot(fake)
    try:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(42, "x" * 4097)
        markup_heavy = "<b>" + "</b><b>".join("x" * 4096) + "</b>"  # 4,096 visible characters
        sent = await bot.send_message(42, markup_heavy, parse_mode="HTML")
        assert sent.text == "x" * 4096
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(42, "<b>unclosed", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(42, "   ")
    finally:
        await bot.shutdown()


async def test_editing_to_the_same_text_is_not_modified(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    bot = await make_bot(fake)
    try:
        sent = await bot.send_message(42, "same")
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("same", chat_id=42, message_id=sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=42, message_id=999_999)
    finally:
        await bot.shutdown()
    _, sender = await channel.connect()
    await sender.edit("42", sent.message_id, Chunk("same", "same"))  # ignored, not an error
    assert fake.message(42, sent.message_id).edits == 0


async def test_a_second_poller_terminates_the_first(fake: FakeTelegramServer) -> None:
    first, second = await make_bot(fake), await make_bot(fake)
    try:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting
    finally:
        await first.shutdown()
        await second.shutdown()


async def test_confirmed_updates_are_gone_and_allowed_updates_filter(
    fake: FakeTelegramServer,
) -> None:
    bot = await make_bot(fake)
    try:
        first = fake.user_message("a")
        fake.react(5, "👍")
        updates = await bot.get_updates(allowed_updates=["message"])
        assert [u.update_id for u in updates] == [first]
        assert await bot.get_updates(offset=first + 1, allowed_updates=["message"]) == ()
        fake.redeliver(first)
        assert [u.update_id for u in await bot.get_updates()] == [first]
    finally:
        await bot.shutdown()
