"""Long polling into the durable inbox: order, offsets, restarts, duplicates, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pyclaw.controlplane_telegram import (
    TelegramAuthError,
    TelegramChannel,
    TelegramConflictError,
    TelegramSettings,
)
from pyclaw.controlplane_telegram.testing import FakeTelegramServer, RecordingSink, wait_until
from pyclaw.storage import Database

Settings = Callable[..., TelegramSettings]


async def test_messages_arrive_in_order_as_control_events(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    ids = [fake.user_message(f"hello {n}") for n in range(5)]
    await wait_until(lambda: len(sink.events) == 5)
    assert sink.texts() == [f"hello {n}" for n in range(5)]
    event = sink.events[0]
    assert (event.channel, event.kind, event.chat_id, event.user_id) == (
        "telegram",
        "message",
        "42",
        "42",
    )
    assert sink.external_ids() == [f"telegram:{i}" for i in ids]
    assert event.data["name"] == "Ada"
    calls = fake.calls_to("getUpdates")
    assert calls[0].params["allowed_updates"] == ["message", "callback_query", "message_reaction"]
    assert any(call.params.get("timeout") == 1 for call in calls)  # long polling


async def test_offset_is_persisted_and_a_restart_does_not_redeliver(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    first = RecordingSink()
    channel = TelegramChannel(make_settings(), db)
    await channel.start(first)
    ids = [fake.user_message(f"m{n}") for n in range(3)]
    await wait_until(lambda: len(first.events) == 3)
    await channel.stop()
    assert channel.inbox.next_offset() == ids[-1] + 1

    # Telegram resends what was never acknowledged: simulate it resending everything.
    for update_id in ids:
        fake.redeliver(update_id)
    second = RecordingSink()
    again = TelegramChannel(make_settings(), db)
    await again.start(second)
    fake.user_message("after restart")
    await wait_until(lambda: len(second.events) == 1)
    await asyncio.sleep(0.2)
    await again.stop()
    assert second.texts() == ["after restart"]
    assert fake.calls_to("getUpdates")[-1].params["offset"] >= ids[-1] + 1


async def test_recorded_but_undelivered_updates_are_delivered_after_a_crash(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    crashing = RecordingSink()
    crashing.fail_times = 10**6  # the runtime dies before handling anything
    slow = make_settings(delivery_attempts=10**6, backoff_initial=30, backoff_max=60)
    channel = TelegramChannel(slow, db)
    await channel.start(crashing)
    fake.user_message("one")
    fake.user_message("two")
    await wait_until(lambda: crashing.calls >= 1)
    await wait_until(lambda: fake.pending_updates() == 0)  # confirmed to Telegram: on disk
    await channel.stop()
    assert crashing.events == []
    assert len(channel.inbox.pending()) == 2

    healthy = RecordingSink()
    again = TelegramChannel(make_settings(), db)
    await again.start(healthy)  # a restart retries at once, whatever the backoff said
    await wait_until(lambda: len(healthy.events) == 2)
    await again.stop()
    assert healthy.texts() == ["one", "two"]


async def test_a_duplicate_delivery_by_telegram_reaches_the_sink_once(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    update_id = fake.user_message("only once")
    fake.redeliver(update_id)
    fake.redeliver(update_id)
    fake.user_message("next")
    await wait_until(lambda: len(sink.events) == 2)
    await asyncio.sleep(0.2)
    assert sink.texts() == ["only once", "next"]


async def test_a_conflict_at_start_raises_at_once(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    fake.conflict(times=100)
    channel = TelegramChannel(make_settings(), db)
    started = time.monotonic()
    with pytest.raises(TelegramConflictError) as caught:
        await channel.start(RecordingSink())
    assert time.monotonic() - started < 2
    assert len(fake.calls_to("getUpdates")) == 1  # no busy loop
    assert "terminated by other getUpdates request" in str(caught.value)
    assert "another instance" in str(caught.value)
    await channel.stop()


async def test_a_conflict_while_polling_stops_polling_with_a_clear_error(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    fake.conflict(times=100)
    fake.user_message("wake the poller")  # the current long poll returns; the next one conflicts
    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(channel.wait(), 5)
    polls = len(fake.calls_to("getUpdates"))
    await asyncio.sleep(0.3)
    assert len(fake.calls_to("getUpdates")) == polls  # stopped, not spinning
    assert isinstance(channel.failure, TelegramConflictError)


async def test_a_second_poller_on_the_same_bot_is_refused(
    fake: FakeTelegramServer, make_settings: Settings, channel: TelegramChannel, tmp_path: object
) -> None:
    await asyncio.sleep(0.2)  # the first instance is inside a long poll now
    with Database.open(":memory:") as other_db:
        other = TelegramChannel(make_settings(), other_db)
        await other.start(RecordingSink())  # its poll terminates the first one's poll...
        with pytest.raises(TelegramConflictError):
            await asyncio.wait_for(channel.wait(), 5)  # ...which reports the conflict
        await other.stop()


async def test_webhook_is_deleted_at_start(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    fake.set_webhook("https://example.invalid/hook")
    channel = TelegramChannel(make_settings(), db)
    await channel.start(RecordingSink())
    await channel.stop()
    assert fake.calls_to("deleteWebhook")


async def test_a_set_webhook_is_a_conflict_when_not_deleted(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    fake.set_webhook("https://example.invalid/hook")
    channel = TelegramChannel(make_settings(delete_webhook=False), db)
    with pytest.raises(TelegramConflictError, match="webhook"):
        await channel.start(RecordingSink())
    await channel.stop()


async def test_server_errors_while_polling_are_retried(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    fake.server_errors("getUpdates", times=4, code=502)
    fake.user_message("survives a 5xx burst")
    await wait_until(lambda: len(sink.events) == 1)
    assert sink.texts() == ["survives a 5xx burst"]


async def test_rate_limited_polling_waits_retry_after(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    sink = RecordingSink()
    channel = TelegramChannel(make_settings(), db, sleep=sleep)
    fake.rate_limit("getUpdates", 7)
    fake.user_message("after the flood wait")
    await channel.start(sink)
    await wait_until(lambda: len(sink.events) == 1)
    await channel.stop()
    assert 7.0 in slept


async def test_a_failing_sink_is_retried_and_other_chats_go_on(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    sink = RecordingSink()
    sink.fail_times = 2
    sink.fail_when = lambda event: event.chat_id == "42"
    channel = TelegramChannel(make_settings(allowed_user_ids=(42, 43)), db)
    await channel.start(sink)
    fake.user_message("first from 42")
    fake.user_message("second from 42")
    fake.user_message("from 43", user_id=43)
    await wait_until(lambda: len(sink.events) == 3)
    await channel.stop()
    assert sink.texts()[0] == "from 43"  # not held up by chat 42's retries
    assert sink.texts()[1:] == ["first from 42", "second from 42"]  # order kept within chat 42


async def test_a_poison_update_is_marked_dead_and_reported(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    sink = RecordingSink()
    sink.fail_times = 3
    sink.fail_when = lambda event: event.text == "poison"
    channel = TelegramChannel(make_settings(delivery_attempts=3), db)
    await channel.start(sink)
    poison = fake.user_message("poison")
    fake.user_message("fine")
    await wait_until(lambda: sink.texts() == ["fine"])
    await wait_until(lambda: bool(channel.inbox.dead()))
    await wait_until(lambda: len(fake.messages(42)) == 1)
    await channel.stop()
    assert channel.inbox.dead()[0][0] == poison
    assert "RuntimeError" in channel.inbox.dead()[0][1]
    assert "could not process" in fake.messages(42)[0].text
    assert sink.calls == 4


async def test_wait_returns_quietly_after_stop(channel: TelegramChannel) -> None:
    waiter = asyncio.create_task(channel.wait())
    await asyncio.sleep(0.05)
    await channel.stop()
    await asyncio.wait_for(waiter, 2)
    assert channel.failure is None


async def test_updates_from_another_source_share_the_inbox(
    channel: TelegramChannel, sink: RecordingSink
) -> None:
    update = {
        "update_id": 9000,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private", "first_name": "Ada"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ada"},
            "text": "via webhook",
        },
    }
    assert await channel.ingest([update]) == 1
    assert await channel.ingest([update]) == 0  # the same update again: ignored
    await wait_until(lambda: sink.texts() == ["via webhook"])
    assert sink.events[0].external_id == "telegram:9000"


async def test_a_rejected_token_is_a_clear_error_without_the_token(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    channel = TelegramChannel(make_settings(token="999:wrong-secret-token"), db)
    with pytest.raises(TelegramAuthError) as caught:
        await channel.start(RecordingSink())
    assert "wrong-secret-token" not in str(caught.value)
    assert "refused the bot token" in str(caught.value)
    assert "wrong-secret-token" not in repr(make_settings(token="999:wrong-secret-token"))


async def test_an_unreadable_update_is_skipped_and_does_not_block_the_rest(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    bad = fake.inject({"message": {"message_id": 1, "chat": {}, "date": 0}})  # no chat id/type
    surrogate = fake.user_message("half \ud800 a surrogate")
    good = fake.user_message("still here")
    await wait_until(lambda: len(sink.texts()) == 2)
    assert sink.texts() == ["half \ufffd\ufffd\ufffd a surrogate", "still here"]
    assert channel.inbox.next_offset() == good + 1  # the offset moved past the bad ones too
    assert bad < surrogate < good
    only_bad = fake.inject({"message": None})
    await wait_until(lambda: channel.inbox.next_offset() == only_bad + 1)
    fake.user_message("and after")
    await wait_until(lambda: sink.texts()[-1] == "and after")
