"""``pyclaw daemon`` in-process against a fake Telegram Bot API and a fake model, on 127.0.0.1.

python-telegram-bot talks to ``FakeTelegramServer`` and the openai-compatible provider to
``FakeOpenAIServer`` over real HTTP; the daemon, its inbox, the agent, tools, policy and the
session log are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from tests.daemon_harness import daemon, has_tool_result, last_user_text, texts

from pyclaw.controlplane_telegram import TelegramConflictError
from pyclaw.controlplane_telegram.testing import FakeTelegramServer, parse_html, wait_until
from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.llm.testing._http import JSONObject
from pyclaw.meta import ToolCall
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._control import control_request
from pyclaw.runtime._daemon_service import serve
from pyclaw.runtime._doctor import check_local_provider
from pyclaw.runtime._home import PyClawHome


async def test_two_chats_run_in_parallel_and_each_gets_its_answer() -> None:
    both_waiting = threading.Barrier(2, timeout=10)

    def responder(body: JSONObject) -> str:
        both_waiting.wait()  # only returns when the two chats' model calls are in flight at once
        return f"answer to {last_user_text(body)}"

    async with daemon(responder) as d:
        d.telegram.user_message("hello from 42", user_id=42)
        d.telegram.user_message("hello from 43", user_id=43)
        await wait_until(lambda: texts(d.telegram, 42) and texts(d.telegram, 43), within=15)
        assert texts(d.telegram, 42) == ["answer to hello from 42"]
        assert texts(d.telegram, 43) == ["answer to hello from 43"]
        assert d.ready["channels"] == ["cli", "telegram"]


async def test_turns_of_one_chat_are_serialized_in_order() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def responder(body: JSONObject) -> FakeReply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return FakeReply(text=f"re: {last_user_text(body)}", delay=0.05)
        finally:
            with lock:
                in_flight -= 1

    async with daemon(responder) as d:
        for n in range(4):
            d.telegram.user_message(f"m{n}", user_id=42)
        await wait_until(lambda: len(texts(d.telegram, 42)) == 4, within=15)
        assert texts(d.telegram, 42) == [f"re: m{n}" for n in range(4)]
        assert peak == 1


async def test_a_long_markdown_reply_arrives_complete_in_valid_chunks() -> None:
    line = "Use `a_b*c` and **bold** _x_ [link](https://example.com/a_(b)) <tag> & 1 < 2 > 0"
    body = "\n".join(f"{n}. {line}" for n in range(125))
    reply = f"# Title\n\n{body}\n\n```python\nprint('*_[]()~`>#+-=|{{}}.!')\n```\n"
    assert len(reply) > 10_000

    async with daemon(lambda _: reply) as d:
        d.telegram.user_message("write a lot", user_id=42)
        await wait_until(lambda: "print(" in "".join(texts(d.telegram, 42)), within=15)
        sent = d.telegram.messages(42)
        assert len(sent) >= 2  # the rendered text (links shown as their label) is ~8,000 units
        for message in sent:
            assert len(message.text.encode("utf-16-le")) // 2 <= 4096
            if message.html is not None:
                parse_html(message.html)  # what Telegram would accept
        joined = "\n".join(m.text for m in sent)
        for n in range(125):
            assert f"{n}. Use a_b*c and bold x link <tag> & 1 < 2 > 0" in joined
        assert "print('*_[]()~`>#+-=|{}.!')" in joined


async def test_an_unknown_user_is_refused_and_the_model_never_called() -> None:
    async with daemon() as d:
        d.telegram.user_message("let me in", user_id=99)
        await wait_until(lambda: bool(texts(d.telegram, 99)), within=10)
        assert "code" in texts(d.telegram, 99)[0].lower()
        await asyncio.sleep(0.3)
        assert d.model.requests == []


async def test_approval_via_inline_buttons_runs_the_call_once_and_updates_the_message() -> None:
    def responder(body: JSONObject) -> Any:
        if has_tool_result(body):
            return "the command ran"
        return ToolCall(name="exec", arguments={"command": "echo hi > ran.txt"})

    async with daemon(responder) as d:
        d.telegram.user_message("run it", user_id=42)
        await wait_until(lambda: any(m.buttons() for m in d.telegram.messages(42)), within=15)
        ask = next(m for m in d.telegram.messages(42) if m.buttons())
        assert "exec" in ask.text
        once = next(b for b in ask.buttons() if "once" in b["text"].lower())
        d.telegram.press(ask.message_id, once["callback_data"], user_id=42)
        await wait_until(lambda: "the command ran" in texts(d.telegram, 42), within=15)
        assert (d.home.workspace_dir / "ran.txt").read_text().strip() == "hi"
        updated = d.telegram.message(42, ask.message_id)
        assert updated.buttons() == []
        assert "Allowed once" in updated.text


async def test_a_foreign_press_is_refused() -> None:
    def responder(body: JSONObject) -> Any:
        if has_tool_result(body):
            return "done"
        return ToolCall(name="exec", arguments={"command": "true"})

    async with daemon(responder) as d:
        d.telegram.user_message("run it", user_id=42)
        await wait_until(lambda: any(m.buttons() for m in d.telegram.messages(42)), within=15)
        ask = next(m for m in d.telegram.messages(42) if m.buttons())
        update = d.telegram.press(
            ask.message_id, ask.buttons()[0]["callback_data"], user_id=77, chat_id=42
        )
        await wait_until(lambda: d.telegram.callback_answer(update) is not None, within=10)
        answer = d.telegram.callback_answer(update)
        assert answer is not None
        assert answer.get("show_alert")
        assert d.telegram.message(42, ask.message_id).buttons() != []


async def test_new_status_and_stop_commands() -> None:
    release = threading.Event()

    def responder(body: JSONObject) -> FakeReply:
        if last_user_text(body) == "slow":
            release.wait(10)
        return FakeReply(text=f"re: {last_user_text(body)}")

    async with daemon(responder) as d:
        d.telegram.user_message("hi", user_id=42)
        await wait_until(lambda: "re: hi" in texts(d.telegram, 42), within=10)
        d.telegram.user_message("/status", user_id=42)
        await wait_until(lambda: any("Session:" in t for t in texts(d.telegram, 42)), within=10)
        first_session = next(t for t in texts(d.telegram, 42) if "Session:" in t).split()[1]
        d.telegram.user_message("/new", user_id=42)
        await wait_until(lambda: any("New session" in t for t in texts(d.telegram, 42)), within=10)
        d.telegram.user_message("slow", user_id=42)
        await asyncio.sleep(0.3)
        d.telegram.user_message("/stop", user_id=42)
        await wait_until(lambda: "⏹ Stopped." in texts(d.telegram, 42), within=5)
        release.set()
        assert "Stopping" in " ".join(texts(d.telegram, 42))
        d.telegram.user_message("/status", user_id=42)
        await wait_until(
            lambda: sum("Session:" in t for t in texts(d.telegram, 42)) == 2, within=10
        )
        second = [t for t in texts(d.telegram, 42) if "Session:" in t][1].split()[1]
        assert second != first_session


@pytest.mark.parametrize("attempt", [1])
async def test_a_duplicate_update_is_answered_once(attempt: int) -> None:
    del attempt
    async with daemon(lambda body: f"re: {last_user_text(body)}") as d:
        update = d.telegram.user_message("once please", user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=10)
        d.telegram.redeliver(update)
        await asyncio.sleep(1.5)
        assert texts(d.telegram, 42) == ["re: once please"]
        assert len(d.model.requests) == 1


def pyclaw_cli(home: PyClawHome, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYCLAW_HOME": str(home.root)}
    return subprocess.run(
        [sys.executable, "-m", "pyclaw.runtime", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_pyclaw_chat_talks_to_the_running_daemon() -> None:
    async with daemon(lambda body: f"daemon says: {last_user_text(body)}") as d:
        result = await asyncio.to_thread(pyclaw_cli, d.home, "chat", "-m", "hi there", "--json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["answer"] == "daemon says: hi there"
        assert out["status"] == "succeeded"
        again = await asyncio.to_thread(
            pyclaw_cli, d.home, "chat", "-m", "more", "--session", out["session_id"], "--json"
        )
        assert json.loads(again.stdout)["session_id"] == out["session_id"]
        assert len(d.model.requests) == 2
        second = d.model.requests[1].body
        assert isinstance(second, dict)
        assert "hi there" in json.dumps(second["messages"])  # same session, same history


async def test_runs_stop_takes_effect_within_a_second() -> None:
    release = threading.Event()

    def responder(body: JSONObject) -> str:
        release.wait(20)
        return "too late"

    async with daemon(responder) as d:
        try:
            d.telegram.user_message("take your time", user_id=42)
            status: dict[str, Any] = {}

            async def running() -> bool:
                reply = await control_request(d.home.control_socket, {"op": "status"}, timeout=5)
                status.update(reply)
                return bool(reply["runs"])

            deadline = time.monotonic() + 10
            while not await running():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            runs = status["runs"]
            assert isinstance(runs, list)
            first = runs[0]
            assert isinstance(first, dict)
            run_id = str(first["run_id"])
            started = time.monotonic()
            result = await asyncio.to_thread(pyclaw_cli, d.home, "runs", "stop", run_id)
            assert result.returncode == 0, result.stderr
            await wait_until(lambda: "⏹ Stopped." in texts(d.telegram, 42), within=5)
            elapsed = time.monotonic() - started
            assert elapsed < 1.0 + 0.8  # the CLI process itself starts in ~0.3-0.6 s
        finally:
            release.set()
        shown = await asyncio.to_thread(pyclaw_cli, d.home, "runs", "show", run_id, "--json")
        assert json.loads(shown.stdout)["status"] == "cancelled"


async def test_a_cron_job_fires_in_the_daemon_and_is_announced_on_telegram() -> None:
    extra = '[[cron]]\nname = "tick"\nevery = "1s"\nprompt = "cron ping"\ndeliver = "announce"\n'
    async with daemon(lambda body: f"pong for {last_user_text(body)}", extra=extra) as d:
        await wait_until(lambda: "pong for cron ping" in texts(d.telegram, 42), within=10)
        history = await asyncio.to_thread(pyclaw_cli, d.home, "cron", "history", "--json")
        runs = json.loads(history.stdout)
        assert runs
        assert runs[-1]["status"] == "succeeded"


async def test_a_second_daemon_on_the_same_home_refuses_to_start() -> None:
    async with daemon() as d:
        result = await asyncio.to_thread(pyclaw_cli, d.home, "daemon")
        assert result.returncode != 0
        assert "already running" in result.stderr
        assert result.stderr.count("\n") == 1


async def test_a_slow_turn_gets_eyes_and_typing_and_a_fast_one_neither() -> None:
    def responder(body: JSONObject) -> FakeReply:
        slow = last_user_text(body) == "slow"
        return FakeReply(text="done", delay=1.0 if slow else 0.0)

    async with daemon(responder) as d:
        d.telegram.user_message("fast", user_id=42)
        await wait_until(lambda: texts(d.telegram, 42) == ["done"], within=10)
        assert d.telegram.calls_to("setMessageReaction") == []
        assert d.telegram.calls_to("sendChatAction") == []
        d.telegram.user_message("slow", user_id=42)
        await wait_until(lambda: texts(d.telegram, 42) == ["done", "done"], within=10)
        reactions = d.telegram.calls_to("setMessageReaction")
        assert len(reactions) == 1
        assert "👀" in json.dumps(reactions[0].params, ensure_ascii=False)
        assert d.telegram.calls_to("sendChatAction")


async def test_a_409_conflict_at_start_is_one_clear_error() -> None:
    with FakeTelegramServer() as telegram, FakeOpenAIServer() as model:
        telegram.conflict(times=50)
        config = parse_config(
            f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
            f'[telegram]\ntoken = "{telegram.token}"\napi_base_url = "{telegram.api_base_url}"\n'
            "allowed_user_ids = [42]\npoll_timeout = 1\n"
        )
        started = time.monotonic()
        with pytest.raises(TelegramConflictError) as caught:
            await asyncio.wait_for(serve(PyClawHome.from_env(), config), 30)
        assert time.monotonic() - started < 10
        assert "getUpdates" in str(caught.value) or "conflict" in str(caught.value).lower()
        assert telegram.token not in str(caught.value)


async def test_with_no_configuration_the_daemon_runs_the_embedded_model_and_the_terminal() -> None:
    if check_local_provider(None) is not None:
        pytest.skip("the embedded model is not installed here")
    home = PyClawHome.from_env()
    ready: dict[str, Any] = {}
    stop = asyncio.Event()
    task = asyncio.create_task(serve(home, parse_config(""), stop=stop, on_ready=ready.update))
    await wait_until(lambda: bool(ready) or task.done(), within=30)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert ready["provider"] == "local"
    assert ready["channels"] == ["cli"]


async def test_a_429_on_the_reply_is_waited_out_and_the_reply_arrives_once() -> None:
    async with daemon(lambda body: f"re: {last_user_text(body)}") as d:
        d.telegram.rate_limit("sendMessage", retry_after=1)
        started = time.monotonic()
        d.telegram.user_message("are you there?", user_id=42)
        await wait_until(lambda: bool(texts(d.telegram, 42)), within=15)
        assert time.monotonic() - started >= 1.0  # retry_after was honoured
        await asyncio.sleep(0.5)
        assert texts(d.telegram, 42) == ["re: are you there?"]
