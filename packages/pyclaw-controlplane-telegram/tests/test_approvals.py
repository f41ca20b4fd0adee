"""Approvals as inline buttons: valid presses become events; stale, foreign, repeated ones do not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from pyclaw.controlplane_telegram import TelegramChannel, TelegramSettings
from pyclaw.controlplane_telegram.testing import (
    FakeTelegramServer,
    RecordingSink,
    SentMessage,
    wait_until,
)
from pyclaw.meta import ApprovalRequest, ToolCall, utcnow
from pyclaw.storage import Database

Settings = Callable[..., TelegramSettings]


def make_request(**overrides: object) -> ApprovalRequest:
    values: dict[str, object] = {
        "session_id": "ses_1",
        "agent": "main",
        "call": ToolCall(name="exec", arguments={"command": "rm -rf /tmp/x && echo '<done>'"}),
        "reason": "exec is risky & needs <approval>",
    }
    values.update(overrides)
    return ApprovalRequest.model_validate(values)


async def ask(
    fake: FakeTelegramServer, channel: TelegramChannel, request: ApprovalRequest
) -> SentMessage:
    await channel.request_approval(request, "42")
    (message,) = [m for m in fake.messages(42) if m.buttons()]
    return message


def data_for(message: SentMessage, label_start: str) -> str:
    return next(
        str(b["callback_data"]) for b in message.buttons() if str(b["text"]).startswith(label_start)
    )


async def test_the_request_shows_the_call_with_five_buttons(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    request = make_request()
    message = await ask(fake, channel, request)
    assert "exec" in message.text
    assert "rm -rf /tmp/x && echo '<done>'" in message.text  # escaped on the wire, intact here
    assert "needs <approval>" in message.text
    labels = [str(b["text"]) for b in message.buttons()]
    assert labels == [
        "✅ Allow once",
        "⏱ Allow 10 min",
        "🗂 Allow this session",
        "♾ Always allow",
        "⛔ Deny",
    ]
    assert all(len(str(b["callback_data"]).encode()) <= 64 for b in message.buttons())
    await channel.request_approval(request, "42")  # asked again (a retry): no second message
    assert len(fake.messages(42)) == 1


async def test_a_valid_press_becomes_a_callback_event(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    request = make_request()
    message = await ask(fake, channel, request)
    update_id = fake.press(message.message_id, data_for(message, "⏱"))
    await wait_until(lambda: len(sink.events) == 1)
    (event,) = sink.events
    assert event.kind == "callback"
    assert event.external_id == f"telegram:{update_id}"
    assert event.data == {
        "request_id": request.id,
        "call_hash": request.call_hash,
        "verdict": "allow",
        "scope": "window",
        "window_seconds": 600.0,
        "decided_by": "telegram:42",
        "message_id": message.message_id,
    }
    await wait_until(lambda: fake.callback_answer(update_id) is not None)
    answer = fake.callback_answer(update_id)
    assert answer is not None
    assert not answer.get("show_alert")


async def test_deny_and_forever(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    first = await ask(fake, channel, make_request())
    fake.press(first.message_id, data_for(first, "⛔"))
    await wait_until(lambda: len(sink.events) == 1)
    assert (sink.events[0].data["verdict"], sink.events[0].data["scope"]) == ("deny", "once")
    await channel.approval_resolved(str(sink.events[0].data["request_id"]), "Denied")
    second = make_request()
    await channel.request_approval(second, "42")
    message = fake.messages(42)[-1]
    fake.press(message.message_id, data_for(message, "♾"))
    await wait_until(lambda: len(sink.events) == 2)
    assert (sink.events[1].data["verdict"], sink.events[1].data["scope"]) == ("allow", "forever")
    assert sink.events[1].data["window_seconds"] is None


async def test_a_second_press_is_refused(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    message = await ask(fake, channel, make_request())
    fake.press(message.message_id, data_for(message, "✅"))
    second = fake.press(message.message_id, data_for(message, "⛔"))
    await wait_until(lambda: fake.callback_answer(second) is not None)
    assert len(sink.events) == 1
    answer = fake.callback_answer(second)
    assert answer is not None
    assert answer["show_alert"] is True
    assert "already answered" in str(answer["text"])


async def test_a_press_from_another_chat_or_a_stranger_is_refused(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    sink = RecordingSink()
    channel = TelegramChannel(make_settings(allowed_user_ids=(42, 43)), db)
    await channel.start(sink)
    message = await ask(fake, channel, make_request())
    data = data_for(message, "✅")
    stranger = fake.press(message.message_id, data, user_id=77, chat_id=42)
    other_chat = fake.press(message.message_id, data, user_id=43)  # allowed user, their own chat
    forged = fake.press(message.message_id, "a:not-a-token:o")
    for update_id in (stranger, other_chat, forged):
        await wait_until(lambda u=update_id: fake.callback_answer(u) is not None)
    await channel.stop()
    assert sink.events == []
    answers = [fake.callback_answer(u) for u in (stranger, other_chat, forged)]
    assert [a["text"] for a in answers if a] == [
        "This approval is not yours.",
        "This approval is not yours.",
        "This request is unknown.",
    ]


async def test_an_expired_request_is_refused_and_marked(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    request = make_request(expires_at=utcnow() + timedelta(milliseconds=200))
    message = await ask(fake, channel, request)
    await asyncio.sleep(0.3)
    update_id = fake.press(message.message_id, data_for(message, "✅"))
    await wait_until(lambda: fake.message(42, message.message_id).reply_markup is None)
    assert sink.events == []
    answer = fake.callback_answer(update_id)
    assert answer is not None
    assert "expired" in str(answer["text"])
    assert "Expired" in fake.message(42, message.message_id).text


async def test_approval_resolved_edits_the_message_and_removes_the_buttons(
    fake: FakeTelegramServer, channel: TelegramChannel, sink: RecordingSink
) -> None:
    request = make_request()
    message = await ask(fake, channel, request)
    allow_once = data_for(message, "✅")
    fake.press(message.message_id, data_for(message, "🗂"))
    await wait_until(lambda: len(sink.events) == 1)
    assert await channel.approval_resolved(request.id, "Allowed for this session by Ada")
    edited = fake.message(42, message.message_id)
    assert edited.reply_markup is None
    assert edited.text.endswith("Allowed for this session by Ada")
    assert edited.text.startswith("🔐 Approval needed")
    assert not await channel.approval_resolved(request.id, "again")  # once
    assert not await channel.approval_resolved("apr_unknown", "x")
    late = fake.press(message.message_id, allow_once)  # a stale keyboard still on a phone
    await wait_until(lambda: fake.callback_answer(late) is not None)
    assert len(sink.events) == 1


async def test_a_press_redelivered_after_a_failed_delivery_still_counts(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    sink = RecordingSink()
    sink.fail_times = 1  # the runtime fails the first time it is handed the press
    channel = TelegramChannel(make_settings(), db)
    await channel.start(sink)
    message = await ask(fake, channel, make_request())
    fake.press(message.message_id, data_for(message, "✅"))
    await wait_until(lambda: len(sink.events) == 1)
    await channel.stop()
    assert sink.calls == 2
    assert sink.events[0].data["verdict"] == "allow"
