"""``kill -9`` the daemon again and again, at every step of a turn; nothing is lost or repeated.

A real ``pyclaw daemon`` process talks to a fake Telegram Bot API and a fake model (both in this
process, on 127.0.0.1). Each job is a message ``job-N``: the model asks for ``exec`` (allowed by
policy) appending ``job-N`` to ``side.txt``, then answers ``done job-N``. The daemon is killed
with SIGKILL at least 50 times, cycling through the kill points:

- ``receive``: a few milliseconds after the update is offered;
- ``llm``: while the model request is in flight (the fake model kills it before answering);
- ``tool_start``: inside the tool, before its side effect (the call is left uncertain);
- ``tool_end``: inside the tool, after its side effect (uncertain too, but it did happen);
- ``send``: while the reply is being sent (the fake Telegram drops that call);
- ``random``: at a random moment.

An uncertain ``exec`` that the model repeats needs a human again (though the policy allows
``exec``): a test "human" presses the buttons, allowing it when ``side.txt`` lacks the job and
denying it otherwise. At the end every job got exactly one ``done`` reply, and every side effect
happened exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pyclaw.controlplane_telegram.testing import FakeTelegramServer, wait_until
from pyclaw.llm.testing import FakeOpenAIServer
from pyclaw.llm.testing._http import JSONObject
from pyclaw.meta import ToolCall
from pyclaw.runtime._home import PyClawHome

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("PYCLAW_CRASH_KILLS", "54"))
MODES = ("receive", "llm", "tool_start", "tool_end", "send", "random")
CHATS = (42, 43, 44)


def command(job: str) -> str:
    return (
        "if [ -e crash-start.flag ]; then rm -f crash-start.flag; kill -9 $PPID; exit 1; fi; "
        f"echo {job} >> side.txt; "
        "if [ -e crash-end.flag ]; then rm -f crash-end.flag; kill -9 $PPID; sleep 1; fi"
    )


def _messages(body: JSONObject) -> list[dict[str, Any]]:
    messages = body.get("messages")
    assert isinstance(messages, list)
    return [m for m in messages if isinstance(m, dict)]


STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_daemon_left_behind() -> Iterator[None]:
    """A failing test must not leave a daemon running."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


class World:
    """The fakes, the daemon process and the kill switch."""

    def __init__(self, home: PyClawHome, telegram: FakeTelegramServer) -> None:
        self.home = home
        self.telegram = telegram
        self.proc: subprocess.Popen[bytes] | None = None
        self.kill_on_llm = threading.Event()
        self.kill_on_send = threading.Event()
        self.kills = 0
        self.lock = threading.Lock()

    # -- the fakes' hooks (their server threads) --------------------------------------------------

    def respond(self, body: JSONObject) -> Any:
        messages = _messages(body)
        job = next(
            str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"
        ).strip()
        if self.kill_on_llm.is_set():
            self.kill_on_llm.clear()
            self.kill()
        last = messages[-1]
        if last.get("role") == "tool":
            content = str(last.get("content", "")).lower()
            if "exit code: 0" in content or "not approved" in content:
                return f"done {job}"
            # uncertain, or not run (the process died before it started): try again
            return ToolCall(name="exec", arguments={"command": command(job)})
        return ToolCall(name="exec", arguments={"command": command(job)})

    def before_call(self, method: str, params: dict[str, Any]) -> bool:
        text = str(params.get("text", ""))
        if method == "sendMessage" and "done job-" in text and self.kill_on_send.is_set():
            self.kill_on_send.clear()
            self.kill()
            return True
        return False

    # -- the daemon -------------------------------------------------------------------------------

    def start(self) -> None:
        env = {**os.environ, "PYCLAW_HOME": str(self.home.root), "PYCLAW_LOG_LEVEL": "INFO"}
        log = (self.home.root / "daemon-stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyclaw.runtime", "daemon"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        STARTED.append(self.proc)
        log.close()

    def ready(self) -> bool:
        text = (self.home.root / "daemon-stderr.log").read_text(errors="replace")
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the daemon exited before it was ready:\n{text[-2000:]}")
        return text.count("pyclaw daemon ready") >= self.kills + 1

    def kill(self) -> None:
        with self.lock:
            proc = self.proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def replies(telegram: FakeTelegramServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in telegram.messages():
        if message.text.startswith("done job-"):
            counts[message.text] = counts.get(message.text, 0) + 1
    return counts


async def press_buttons(
    world: World, pressed: set[tuple[int, int]], decisions: list[tuple[str, str]]
) -> None:
    """The human: allow an uncertain exec again only when its effect is missing."""
    side = world.home.workspace_dir / "side.txt"
    while True:
        for message in world.telegram.messages():
            key = (message.chat_id, message.message_id)
            if not message.buttons() or key in pressed:
                continue
            pressed.add(key)
            done = side.read_text().split() if side.exists() else []
            found = re.search(r"job-\d+", message.text)
            assert found is not None, message.text
            wanted = "deny" if found.group() in done else "once"
            decisions.append((found.group(), wanted))
            button = next(b for b in message.buttons() if wanted in b["text"].lower())
            world.telegram.press(
                message.message_id, button["callback_data"], user_id=message.chat_id
            )
        await asyncio.sleep(0.05)


@contextmanager
def fakes(world_home: PyClawHome) -> Iterator[tuple[FakeTelegramServer, FakeOpenAIServer, World]]:
    with FakeTelegramServer() as telegram:
        world = World(world_home, telegram)
        telegram.state.before_call = world.before_call
        with FakeOpenAIServer(responder=world.respond) as model:
            yield telegram, model, world


async def test_sigkill_at_every_step_loses_and_repeats_nothing() -> None:
    home = PyClawHome.from_env()
    home.ensure_layout()
    rng = random.Random(1234)
    with fakes(home) as (telegram, model, world):
        allowed = ", ".join(str(c) for c in CHATS)
        home.config_path.write_text(
            f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
            'model = "scripted"\n'
            '[agents.main]\nprovider = "fake"\ntools = ["exec"]\n'
            f'[telegram]\ntoken = "{telegram.token}"\napi_base_url = "{telegram.api_base_url}"\n'
            f"allowed_user_ids = [{allowed}]\npoll_timeout = 1\n"
            "[daemon]\nmax_attempts = 100\nshutdown_grace = 5\n"
            '[[policy.rules]]\nverdict = "allow"\ntool = "exec"\n'
        )
        workspace = home.workspace_dir
        jobs: list[str] = []
        pressed: set[tuple[int, int]] = set()
        decisions: list[tuple[str, str]] = []
        human = asyncio.create_task(press_buttons(world, pressed, decisions))
        try:
            while world.kills < KILLS:
                mode = MODES[world.kills % len(MODES)]
                world.start()
                await wait_until(world.ready, within=30)
                job = f"job-{len(jobs)}"
                jobs.append(job)
                match mode:
                    case "llm":
                        world.kill_on_llm.set()
                    case "tool_start":
                        (workspace / "crash-start.flag").touch()
                    case "tool_end":
                        (workspace / "crash-end.flag").touch()
                    case "send":
                        world.kill_on_send.set()
                    case _:
                        pass
                telegram.user_message(job, user_id=CHATS[len(jobs) % len(CHATS)])
                if mode == "receive":
                    await asyncio.sleep(rng.uniform(0, 0.03))
                    world.kill()
                elif mode == "random":
                    await asyncio.sleep(rng.uniform(0, 0.6))
                    world.kill()
                try:
                    await wait_until(lambda: not world.alive(), within=20)
                except TimeoutError:
                    world.kill()  # the armed point was not reached in time: kill anyway
                    await asyncio.to_thread(world.proc.wait)  # type: ignore[union-attr]
                world.kill_on_llm.clear()
                world.kill_on_send.clear()
                for flag in ("crash-start.flag", "crash-end.flag"):
                    (workspace / flag).unlink(missing_ok=True)
                world.kills += 1
            world.start()
            await wait_until(world.ready, within=30)
            expected = {f"done {job}" for job in jobs}
            try:
                await wait_until(lambda: set(replies(telegram)) >= expected, within=120)
            except TimeoutError:
                sent = [m.text[:60] for m in telegram.messages()]
                raise AssertionError(
                    f"missing {expected - set(replies(telegram))}: {sent}"
                ) from None
            await asyncio.sleep(1.0)  # anything sent twice would show up now
            assert world.proc is not None
            world.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(world.proc.wait, 30) == 0
        finally:
            human.cancel()
            world.kill()
        counts = replies(telegram)
        assert {text: n for text, n in counts.items() if n != 1} == {}
        assert set(counts) == expected
        effects = (workspace / "side.txt").read_text().split()
        assert sorted(effects) == sorted(jobs), f"side effects: human said {decisions}"
        stderr = (home.root / "daemon-stderr.log").read_text(errors="replace")
        assert stderr.count("pyclaw daemon ready") == KILLS + 1
        assert "Traceback" not in stderr


async def test_a_message_that_keeps_crashing_the_daemon_is_parked_and_others_go_on() -> None:
    home = PyClawHome.from_env()
    home.ensure_layout()
    with FakeTelegramServer() as telegram:
        world = World(home, telegram)

        def respond(body: JSONObject) -> Any:
            messages = _messages(body)
            text = next(
                str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"
            )
            if "poison" in text:
                world.kill()  # this message takes the daemon down every time it is handled
            return f"re: {text}"

        with FakeOpenAIServer(responder=respond) as model:
            home.config_path.write_text(
                f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
                'model = "scripted"\n'
                '[agents.main]\nprovider = "fake"\ntools = ["exec"]\n'
                f'[telegram]\ntoken = "{telegram.token}"\n'
                f'api_base_url = "{telegram.api_base_url}"\n'
                "allowed_user_ids = [42, 43]\npoll_timeout = 1\n"
                "[daemon]\nmax_attempts = 2\n"
                '[[policy.rules]]\nverdict = "allow"\ntool = "exec"\n'
            )
            telegram.user_message("poison", user_id=42)
            for _ in range(3):  # two crashes, then the third start parks it
                world.start()
                deadline = time.monotonic() + 30
                while world.alive() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    if telegram.messages(42):
                        break
                if telegram.messages(42):
                    break
                world.kills += 1
            await wait_until(lambda: bool(telegram.messages(42)), within=30)
            assert "parked" in telegram.messages(42)[0].text
            telegram.user_message("hello", user_id=43)
            await wait_until(lambda: bool(telegram.messages(43)), within=30)
            assert telegram.messages(43)[0].text == "re: hello"
            telegram.user_message("still there?", user_id=42)
            await wait_until(lambda: len(telegram.messages(42)) == 2, within=30)
            assert "parked" in telegram.messages(42)[1].text
            telegram.user_message("/new", user_id=42)
            await wait_until(lambda: len(telegram.messages(42)) == 3, within=30)
            telegram.user_message("fresh start", user_id=42)
            await wait_until(lambda: len(telegram.messages(42)) == 4, within=30)
            assert telegram.messages(42)[3].text == "re: fresh start"
            world.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            assert await asyncio.to_thread(world.proc.wait, 30) == 0  # type: ignore[union-attr]


async def test_sigterm_checkpoints_a_running_turn_and_the_next_start_finishes_it() -> None:
    home = PyClawHome.from_env()
    home.ensure_layout()
    release = threading.Event()
    with FakeTelegramServer() as telegram:
        world = World(home, telegram)

        def respond(body: JSONObject) -> Any:
            messages = _messages(body)
            text = next(
                str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"
            )
            if messages[-1].get("role") == "user" and not release.is_set():
                release.wait(15)  # the first daemon is stopped while this request hangs
            return f"re: {text}"

        with FakeOpenAIServer(responder=respond) as model:
            home.config_path.write_text(
                f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
                'model = "scripted"\n[agents.main]\nprovider = "fake"\ntools = []\n'
                f'[telegram]\ntoken = "{telegram.token}"\n'
                f'api_base_url = "{telegram.api_base_url}"\n'
                "allowed_user_ids = [42]\npoll_timeout = 1\n[daemon]\nshutdown_grace = 0.5\n"
            )
            world.start()
            await wait_until(world.ready, within=30)
            telegram.user_message("long job", user_id=42)
            await wait_until(lambda: len(model.requests) == 1, within=10)
            assert world.proc is not None
            started = time.monotonic()
            world.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(world.proc.wait, 30) == 0
            assert time.monotonic() - started < 5
            assert telegram.messages(42) == []
            release.set()
            world.kills += 1
            world.start()
            await wait_until(world.ready, within=30)
            await wait_until(lambda: bool(telegram.messages(42)), within=15)
            await asyncio.sleep(0.5)
            assert [m.text for m in telegram.messages(42)] == ["re: long job"]
            world.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(world.proc.wait, 30) == 0
