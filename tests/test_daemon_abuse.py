"""Hostile and broken input against a running daemon: each gets a clear outcome, and the daemon
keeps serving the other chats (fake Telegram Bot API and fake model on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.daemon_harness import daemon, has_tool_result, last_user_text, texts

from pyclaw.controlplane_telegram.testing import wait_until
from pyclaw.llm.testing import FakeReply
from pyclaw.llm.testing._http import JSONObject
from pyclaw.meta import ToolCall
from pyclaw.runtime._home import PyClawHome


def echo(body: JSONObject) -> str:
    return f"re: {last_user_text(body)[:40]}"


async def still_serving(d: Any, user_id: int = 43) -> None:
    """Another chat gets its answer."""
    before = len(texts(d.telegram, user_id))
    d.telegram.user_message("ping", user_id=user_id)
    await wait_until(lambda: len(texts(d.telegram, user_id)) > before, within=15)
    assert texts(d.telegram, user_id)[-1] == "re: ping"


async def test_a_one_megabyte_message_gets_a_clear_answer_and_others_are_served() -> None:
    async with daemon(echo) as d:
        d.telegram.user_message("x" * 1_000_000, user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=60)
        answer = texts(d.telegram, 42)[0]
        assert answer.startswith(("re: xxx", "⚠"))
        await still_serving(d)


async def test_malformed_updates_do_not_stop_the_daemon() -> None:
    bodies: list[dict[str, Any]] = [
        {"message": {"message_id": "not a number", "chat": {}, "date": 0}},
        {"message": None},
        {"callback_query": {"id": "q", "data": "a:forged:o"}},
        {"message_reaction": {"chat": {"id": 42, "type": "private"}}},
        {"something_else": {"id": 1}},
        {"message": {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}}},
    ]
    async with daemon(echo) as d:
        for body in bodies:
            d.telegram.inject(body)
        await still_serving(d)
        await still_serving(d, user_id=42)


async def test_lone_surrogates_and_control_characters_are_handled() -> None:
    async with daemon(echo) as d:
        d.telegram.inject(
            {
                "message": {
                    "message_id": 5,
                    "date": 0,
                    "chat": {"id": 42, "type": "private", "first_name": "A"},
                    "from": {"id": 42, "is_bot": False, "first_name": "A"},
                    "text": "bad \ud800 half \x00 nul \u202e rtl",
                }
            }
        )
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=15)
        await still_serving(d)


async def test_five_hundred_tool_calls_in_one_response_are_bounded() -> None:
    def responder(body: JSONObject) -> Any:
        if last_user_text(body) == "ping":
            return echo(body)
        if has_tool_result(body):
            return "read them all"
        calls = [
            ToolCall(name="read_file", arguments={"path": f"missing-{n}.txt"}) for n in range(500)
        ]
        return FakeReply(tool_calls=tuple(calls))

    async with daemon(responder) as d:
        d.telegram.user_message("read everything", user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=60)
        answer = texts(d.telegram, 42)[0]
        assert answer == "read them all" or answer.startswith("⚠ the prompt needs")
        await still_serving(d)


async def test_tool_arguments_that_do_not_match_the_schema_go_back_to_the_model() -> None:
    def responder(body: JSONObject) -> Any:
        messages = body["messages"]
        assert isinstance(messages, list)
        last = messages[-1]
        if last_user_text(body) == "ping":
            return echo(body)
        if isinstance(last, dict) and last.get("role") == "tool":
            return f"tool said: {str(last.get('content'))[:60]}"
        return ToolCall(name="read_file", arguments={"path": 12, "bogus": [1, 2]})

    async with daemon(responder) as d:
        d.telegram.user_message("read", user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=15)
        assert texts(d.telegram, 42)[0].startswith("tool said:")
        await still_serving(d)


async def test_hostile_file_names_are_refused_and_nothing_outside_is_touched() -> None:
    names = ["../../etc/passwd", "/etc/shadow", "a/../../../x", "\x00evil", "con:aux", "~/.ssh/id"]

    def responder(body: JSONObject) -> Any:
        if last_user_text(body) == "ping":
            return echo(body)
        if has_tool_result(body):
            messages = body["messages"]
            assert isinstance(messages, list)
            return json.dumps(
                [m.get("content", "")[:40] for m in messages if m.get("role") == "tool"]
            )
        return FakeReply(
            tool_calls=tuple(ToolCall(name="read_file", arguments={"path": name}) for name in names)
        )

    async with daemon(responder) as d:
        d.telegram.user_message("read those", user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=15)
        assert "root:" not in texts(d.telegram, 42)[0]
        await still_serving(d)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(min_size=1, max_size=300))
def test_any_text_gets_exactly_one_answer(text: str) -> None:
    async def scenario() -> None:
        # a home per example: the next fake server numbers its updates from 100 again, and the
        # same home would (rightly) treat them as already handled
        with tempfile.TemporaryDirectory() as root:
            await check(PyClawHome.at(root))

    async def check(home: PyClawHome) -> None:
        async with daemon(lambda body: "ok", home=home) as d:
            d.telegram.user_message(text, user_id=42)
            await wait_until(lambda: bool(texts(d.telegram, 42)), within=15)
            await asyncio.sleep(0.2)
            assert len(texts(d.telegram, 42)) == 1

    asyncio.run(scenario())
