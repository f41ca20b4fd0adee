"""Replies: Markdown to valid HTML chunks, plain-text fallback, idempotency, retries, live feedback."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from html import unescape

import pytest

from pyclaw.controlplane_telegram import TelegramChannel, TelegramError, TelegramSettings
from pyclaw.controlplane_telegram._format import markdown_text, utf16_len
from pyclaw.controlplane_telegram.testing import (
    FakeTelegramServer,
    RecordingSink,
    parse_html,
)
from pyclaw.meta import OutboundMessage
from pyclaw.storage import Database

Settings = Callable[..., TelegramSettings]

SPECIAL_LINES = [
    "Compare a<b && c>d, then 5 > 3 & 2 < 4.",
    "Stars *not closed, under_scores_here and [brackets] (parens) ~tilde~ `tick",
    'HTML-ish <div class="x">text</div> & <script>alert(1)</script> &amp; &lt;',
    "Emoji 😀 and 𝕏 and ünïcödé, backslash \\ and pipe | and #hash",
]


def big_markdown(target: int = 10_000) -> str:
    """A reply of at least ``target`` characters full of Markdown and HTML special characters."""
    blocks: list[str] = []
    n = 0
    while sum(len(b) for b in blocks) < target:
        n += 1
        blocks.append(
            f"## Section {n} <&>\n\n"
            f"{SPECIAL_LINES[n % 4]}\n\n"
            f"- item **bold {n}** and _italic_ with [a link](https://example.com/?q={n}&x=<y>)\n"
            f"  - nested `code <{n}>` & more\n"
            f"    1. deep ~~struck~~ text *{n}*\n\n"
            "```python\n"
            + "".join(
                f"if value_{i} < limit and x > 0: print('<{i}>' & \"*\")\n" for i in range(12)
            )
            + "```\n\n"
            f"> quoted **{n}** <b>not a tag</b>\n\n"
        )
    return "".join(blocks)


def test_the_10k_fixture_is_big_and_special() -> None:
    text = big_markdown()
    assert len(text) >= 10_000
    assert all(ch in text for ch in "<>&*_[]()~`")


async def test_a_10k_markdown_reply_arrives_complete_in_valid_chunks(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    source = big_markdown()
    last_id = await channel.send(OutboundMessage(channel="telegram", chat_id="42", text=source))
    sent = fake.messages(42)
    assert len(sent) >= 3
    assert last_id == str(sent[-1].message_id)
    for message in sent:
        assert message.html is not None  # every chunk went as HTML (no fallback was needed)
        text, _ = parse_html(message.html)  # the fake's validator: raises on invalid HTML
        assert utf16_len(text) <= 4096
        assert message.text == text
    delivered = "".join(message.text for message in sent)
    # Complete: exactly the text the Markdown renders to, nothing lost at chunk boundaries...
    assert delivered == markdown_text(source)[0]
    # ...and every literal of the source is there (markup characters aside; Markdown decodes
    # entity references such as "&amp;", as CommonMark says).
    for line in [*SPECIAL_LINES, "print('<11>' & \"*\")"]:
        for needle in re.findall(r"[^*_~`\[\]()]+", line):
            if needle.strip():
                assert unescape(needle.strip()) in delivered, needle
    position = 0
    for n in range(1, 10):
        found = delivered.find(f"Section {n} <&>", position)
        assert found >= 0
        position = found
    # Code blocks cut between chunks are closed and reopened, never broken.
    assert sum(m.html.count("<pre>") + m.html.count("<pre><code") for m in sent if m.html) >= 9


async def test_formatting_is_real_html(fake: FakeTelegramServer, channel: TelegramChannel) -> None:
    await channel.send(
        OutboundMessage(
            channel="telegram", chat_id="42", text="**bold** `a<b` [x](https://e.org/?a=1&b=2)"
        )
    )
    (message,) = fake.messages(42)
    assert (
        message.html == '<b>bold</b> <code>a&lt;b</code> <a href="https://e.org/?a=1&amp;b=2">x</a>'
    )
    types = [e["type"] for e in message.entities]
    assert types == ["bold", "code", "text_link"]


async def test_a_rejected_format_falls_back_to_plain_text(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    fake.fail(
        "sendMessage",
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    )
    await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="**hello** <world>"))
    calls = fake.calls_to("sendMessage")
    assert [c.params.get("parse_mode") for c in calls] == ["HTML", None]
    (message,) = fake.messages(42)
    assert message.text == "hello <world>"
    assert message.html is None


async def test_other_bad_requests_are_errors(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    fake.fail("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(TelegramError, match=r"(?i)chat not found"):
        await channel.send(OutboundMessage(channel="telegram", chat_id="999", text="hi"))


async def test_a_resend_with_the_same_key_sends_only_missing_chunks(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    channel = TelegramChannel(make_settings(send_attempts=1), db)
    await channel.start(RecordingSink())
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(120))  # ~11k characters: 3 chunks
    message = OutboundMessage(
        channel="telegram", chat_id="42", text=text, idempotency_key="reply-1"
    )
    fake.server_errors("sendMessage", times=1, code=500)
    fake.state.faults["sendmessage"].appendleft(None)  # the first chunk goes through
    with pytest.raises(TelegramError):  # "crash" after the first chunk
        await channel.send(message)
    assert len(fake.messages(42)) == 1

    await channel.send(message)  # the retry after the crash
    sent = fake.messages(42)
    assert len(sent) == 3
    assert "".join(m.text for m in sent).count("line ") == 120
    assert [m.text.split(" ", 2)[1] for m in sent] == [
        "0",
        sent[1].text.split(" ", 2)[1],
        sent[2].text.split(" ", 2)[1],
    ]
    assert len(fake.calls_to("sendMessage")) == 4  # 1 ok + 1 failed + 2 missing ones

    await channel.send(message)  # all sent: nothing goes out again
    assert len(fake.messages(42)) == 3
    assert len(fake.calls_to("sendMessage")) == 4
    await channel.stop()


async def test_429_on_send_waits_retry_after(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    fake.rate_limit("sendMessage", 1)
    started = time.monotonic()
    await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="patience"))
    waited = time.monotonic() - started
    calls = fake.calls_to("sendMessage")
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.95
    assert waited >= 0.95
    assert fake.messages(42)[0].text == "patience"


async def test_a_long_rate_limit_fails_instead_of_stalling(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    channel = TelegramChannel(make_settings(max_retry_after=5), db)
    fake.rate_limit("sendMessage", 3600)
    with pytest.raises(TelegramError, match="rate-limited"):
        await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="x"))
    await channel.stop()


async def test_network_errors_on_send_back_off_then_succeed(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    channel = TelegramChannel(make_settings(backoff_initial=1.0, backoff_max=3.0), db, sleep=sleep)
    fake.server_errors("sendMessage", times=4, code=502)
    await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="finally"))
    await channel.stop()
    assert fake.messages(42)[0].text == "finally"
    assert len(slept) == 4
    assert 0.5 <= slept[0] <= 1.0  # jittered 50-100 % of 1 s, then 2 s, then capped at 3 s
    assert 1.0 <= slept[1] <= 2.0
    assert all(1.5 <= s <= 3.0 for s in slept[2:])


async def test_plain_format_and_blank_text(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    assert (
        await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="  \n ")) is None
    )
    await channel.send(
        OutboundMessage(
            channel="telegram", chat_id="42", text="**as is** <b>", data={"format": "plain"}
        )
    )
    (message,) = fake.messages(42)
    assert message.text == "**as is** <b>"
    assert message.entities == []


async def test_a_reply_quotes_the_message_it_answers(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="re", reply_to="7"))
    assert fake.messages(42)[0].reply_to == 7


async def test_typing_indicator_is_sent_while_working(
    fake: FakeTelegramServer, make_settings: Settings, db: Database
) -> None:
    channel = TelegramChannel(make_settings(typing_interval=0.1), db)
    async with channel.typing("42"):
        await asyncio.sleep(0.35)
    await asyncio.sleep(0.05)  # a call in flight when the block ended may still land
    count = len(fake.calls_to("sendChatAction"))
    await asyncio.sleep(0.3)
    await channel.stop()
    assert 2 <= count <= 5  # every 0.1 s for 0.35 s (fewer on a loaded machine)
    assert len(fake.calls_to("sendChatAction")) == count  # stopped with the block
    assert fake.calls_to("sendChatAction")[0].params == {"chat_id": 42, "action": "typing"}


async def test_streaming_edits_one_message_and_is_throttled(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    stream = await channel.stream("42")
    started = time.monotonic()
    text = ""
    for n in range(40):
        text += f"word{n} "
        await stream.update(text)
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    ids = await stream.finish(text + "**done**")
    assert len(ids) == 1
    (message,) = fake.messages(42)
    assert message.message_id == ids[0]
    assert message.text.endswith("done")
    assert message.entities[-1]["type"] == "bold"
    edits = len(fake.calls_to("editMessageText"))
    # interval 0.2 s over ~0.8 s: a handful of edits, not 40
    assert edits <= elapsed / 0.2 + 2
    assert edits >= 2
    assert len(fake.calls_to("sendMessage")) == 1


async def test_streaming_past_the_limit_continues_in_a_new_message(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    stream = await channel.stream("42")
    await stream.update("start")
    long_text = "\n".join("y" * 100 for _ in range(60))  # ~6k characters
    ids = await stream.finish(long_text)
    assert len(ids) == 2
    assert "".join(m.text for m in fake.messages(42)) == long_text


async def test_react_puts_an_emoji_on_a_message(
    fake: FakeTelegramServer, channel: TelegramChannel
) -> None:
    message_id = await channel.send(OutboundMessage(channel="telegram", chat_id="42", text="hi"))
    assert message_id is not None
    await channel.react("42", int(message_id), "👀")
    assert fake.message(42, int(message_id)).reactions == [{"type": "emoji", "emoji": "👀"}]
