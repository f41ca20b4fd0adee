"""Who may talk to the bot: the allowlist, pairing codes, groups; commands and reactions."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from pyclaw.controlplane_telegram import (
    TELEGRAM_MIGRATIONS,
    PairingNotFoundError,
    TelegramChannel,
    approve_pairing,
    list_paired_users,
    list_pairings,
    revoke_paired_user,
)
from pyclaw.controlplane_telegram._pairing import pairing_ticket
from pyclaw.controlplane_telegram.testing import FakeTelegramServer, RecordingSink, wait_until
from pyclaw.meta import utcnow
from pyclaw.storage import Database

STRANGER = 77


def code_in(text: str) -> str:
    match = re.search(r"pairing approve ([A-Z0-9]{8})", text)
    assert match is not None, text
    return match.group(1)


async def test_an_unknown_user_gets_a_pairing_code_and_nothing_reaches_the_sink(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink, db: Database
) -> None:
    fake.user_message("let me in", user_id=STRANGER, first_name="Eve")
    await wait_until(lambda: len(fake.messages(STRANGER)) == 1)
    reply = fake.messages(STRANGER)[0].text
    code = code_in(reply)
    assert f"user id is {STRANGER}" in reply
    (pending,) = list_pairings(db)
    assert (pending.code, pending.user_id, pending.name) == (code, STRANGER, "Eve")
    assert pending.expires_at - pending.created_at == timedelta(hours=1)

    fake.user_message("again", user_id=STRANGER)  # same code, not repeated (rate limit)
    fake.user_message("from the owner")
    await wait_until(lambda: sink.texts() == ["from the owner"])
    await asyncio.sleep(0.1)
    assert len(fake.messages(STRANGER)) == 1
    assert [p.code for p in list_pairings(db)] == [code]
    assert sink.texts() == ["from the owner"]


async def test_approving_the_code_lets_the_next_message_through(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink, db: Database
) -> None:
    fake.user_message("hi", user_id=STRANGER)
    await wait_until(lambda: len(fake.messages(STRANGER)) == 1)
    code = code_in(fake.messages(STRANGER)[0].text)

    paired = approve_pairing(db, code.lower()[:4] + "-" + code.lower()[4:])  # as typed by a human
    assert (paired.user_id, paired.chat_id, paired.code) == (STRANGER, STRANGER, code)
    assert [u.user_id for u in list_paired_users(db)] == [STRANGER]
    assert list_pairings(db) == []
    with pytest.raises(PairingNotFoundError):
        approve_pairing(db, code)  # one-time

    fake.user_message("now?", user_id=STRANGER)
    await wait_until(lambda: sink.texts() == ["now?"])
    assert sink.events[0].user_id == str(STRANGER)

    assert revoke_paired_user(db, STRANGER)
    fake.user_message("still there?", user_id=STRANGER)
    await asyncio.sleep(0.3)
    assert sink.texts() == ["now?"]


async def test_the_channel_can_approve_and_greet(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    fake.user_message("hi", user_id=STRANGER)
    await wait_until(lambda: len(fake.messages(STRANGER)) == 1)
    code = code_in(fake.messages(STRANGER)[0].text)
    assert [p.code for p in await channel.list_pairings()] == [code]
    paired = await channel.approve_pairing(code)
    assert paired.user_id == STRANGER
    assert "paired" in fake.messages(STRANGER)[-1].text


def test_an_expired_or_unknown_code_is_refused(db: Database) -> None:
    with pytest.raises(PairingNotFoundError, match="no pending pairing"):
        approve_pairing(db, "ABCDEFGH")
    db.ensure(TELEGRAM_MIGRATIONS)
    past = utcnow() - timedelta(hours=2)
    ticket = pairing_ticket(
        db,
        "1",
        user_id=5,
        chat_id=5,
        name="Old",
        now=past,
        ttl=3600,
        reply_interval=0,
        max_pending=5,
    )
    assert ticket is not None
    with pytest.raises(PairingNotFoundError, match="expired"):
        approve_pairing(db, ticket.code)


def test_pending_pairings_are_capped(db: Database) -> None:
    db.ensure(TELEGRAM_MIGRATIONS)
    now = utcnow()
    tickets = [
        pairing_ticket(
            db,
            "1",
            user_id=u,
            chat_id=u,
            name="x",
            now=now,
            ttl=60,
            reply_interval=60,
            max_pending=3,
        )
        for u in range(5)
    ]
    assert [t is not None for t in tickets] == [True, True, True, False, False]
    again = pairing_ticket(
        db, "1", user_id=0, chat_id=0, name="x", now=now, ttl=60, reply_interval=60, max_pending=3
    )
    first = tickets[0]
    assert again is not None
    assert first is not None
    assert again.code == first.code
    assert not again.reply
    later = pairing_ticket(
        db,
        "1",
        user_id=0,
        chat_id=0,
        name="x",
        now=now + timedelta(seconds=61),
        ttl=600,
        reply_interval=60,
        max_pending=3,
    )
    assert later is not None
    assert later.code != first.code


async def test_strangers_in_groups_are_ignored_silently(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    fake.user_message("hello group", user_id=STRANGER, chat_id=-100)
    fake.user_message("owner in the group", chat_id=-100)
    await wait_until(lambda: len(sink.events) == 1)
    await asyncio.sleep(0.1)
    assert fake.messages() == []
    assert (sink.events[0].chat_id, sink.events[0].user_id) == ("-100", "42")


async def test_commands_become_command_events(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    fake.user_message("/new")
    fake.user_message("/stop@pyclaw_test_bot now please")
    fake.user_message("/status")
    fake.user_message("/stop@other_bot")  # another bot's command: an ordinary message
    fake.user_message("/unknown thing")
    await wait_until(lambda: len(sink.events) == 5)
    kinds = [(e.kind, e.text, e.data.get("args")) for e in sink.events]
    assert kinds == [
        ("command", "new", ""),
        ("command", "stop", "now please"),
        ("command", "status", ""),
        ("message", "/stop@other_bot", None),
        ("message", "/unknown thing", None),
    ]
    commands = fake.calls_to("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in commands] == ["new", "stop", "status"]


async def test_reactions_become_reaction_events(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    fake.react(1234, "👍")
    fake.react(1234, "👎", user_id=STRANGER, chat_id=42)  # not allowed: dropped
    await wait_until(lambda: len(sink.events) == 1)
    await asyncio.sleep(0.1)
    (event,) = sink.events
    assert (event.kind, event.text, event.data["message_id"]) == ("reaction", "👍", 1234)
    assert event.data["added"] == ["👍"]
