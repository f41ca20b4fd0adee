"""``pyclaw chat`` and ``pyclaw runs stop`` with and without a daemon on the control socket.

The daemon is a fake ``ControlHandler`` served by the real ``ControlServer`` on its own event loop
in a thread, so the CLI (which runs its own ``asyncio.run``) talks to it as to a real daemon.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.meta import Message, RunResult, RunStatus, Usage
from pyclaw.runtime._control import ControlServer, JsonObject, ReplyStream
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_services
from pyclaw.runtime.cli import run


class Daemon:
    """Answers ping, runs.stop (only ``run_live`` is running) and chat (a fixed answer)."""

    def __init__(self) -> None:
        self.requests: list[JsonObject] = []

    async def handle(self, request: JsonObject, reply: ReplyStream) -> None:
        self.requests.append(request)
        op = request.get("op")
        if op == "ping":
            await reply.send({"ok": True, "pid": 4242, "started_at": "x", "version": "0"})
        elif op == "runs.stop":
            await reply.send({"ok": True, "stopped": request.get("run_id") == "run_live"})
        elif op == "chat":
            await reply.send({"event": "session", "session_id": "ses_daemon"})
            status = RunStatus.FAILED if request.get("text") == "fail" else RunStatus.SUCCEEDED
            result = RunResult(
                run_id="run_d",
                status=status,
                answer=Message.assistant("from the daemon"),
                usage=Usage(input_tokens=3, output_tokens=2),
                steps=1,
            )
            await reply.send(
                {
                    "event": "done",
                    "session_id": "ses_daemon",
                    "result": result.model_dump(mode="json"),
                }
            )


class ThreadedServer:
    """A ``ControlServer`` on its own loop in a background thread."""

    def __init__(self, path: Path, handler: Daemon) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = ControlServer(path, handler)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def home(tmp_path: Path) -> PyClawHome:
    return PyClawHome.at(tmp_path / "h")


@pytest.fixture
def daemon(home: PyClawHome) -> Iterator[Daemon]:
    handler = Daemon()
    with ThreadedServer(home.control_socket, handler):
        yield handler


def pyclaw(home: PyClawHome, *args: str) -> int:
    return run(["--home", str(home.root), *args])


def test_chat_goes_through_a_running_daemon(
    home: PyClawHome, daemon: Daemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pyclaw(home, "chat", "-m", "hi", "--agent", "main", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "session_id": "ses_daemon",
        "run_id": "run_d",
        "status": "succeeded",
        "answer": "from the daemon",
        "steps": 1,
        "usage": Usage(input_tokens=3, output_tokens=2).model_dump(mode="json"),
        "cost_usd": 0.0,
        "error": None,
    }
    chats = [r for r in daemon.requests if r.get("op") == "chat"]
    assert [(c["text"], c["agent"], c["session"]) for c in chats] == [("hi", "main", None)]
    with pytest.raises(SystemExit) as failed:  # a failed run: exit 1, as in-process
        pyclaw(home, "chat", "-m", "fail", "--session", "ses_daemon")
    assert failed.value.code == 1
    last = [r for r in daemon.requests if r.get("op") == "chat"][-1]
    assert (last["text"], last["session"]) == ("fail", "ses_daemon")
    assert capsys.readouterr().out == "from the daemon\n"


def test_chat_local_runs_in_this_process_even_with_a_daemon(
    home: PyClawHome, daemon: Daemon, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer([FakeReply(text="from this process")]) as model:
        home.root.mkdir(parents=True, exist_ok=True)
        home.config_path.write_text(
            f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
            'model = "scripted"\n[agents.main]\nprovider = "fake"\ntools = []\n'
        )
        assert pyclaw(home, "chat", "--local", "-m", "hi") == 0
    assert capsys.readouterr().out == "from this process\n"
    assert not [r for r in daemon.requests if r.get("op") == "chat"]


async def _record_runs(home: PyClawHome) -> None:
    with open_services(home) as s:
        session = await s.sessions.create_session(agent="main", channel="cli")
        await s.sessions.start_run(session.id, agent="main", run_id="run_live")
        await s.sessions.start_run(session.id, agent="main", run_id="run_orphan")
        await s.sessions.start_run(session.id, agent="main", run_id="run_done")
        await s.sessions.finish_run("run_done", status=RunStatus.SUCCEEDED)


def test_runs_stop_without_a_daemon(home: PyClawHome, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_record_runs(home))
    assert pyclaw(home, "runs", "stop", "run_live") == 1
    assert capsys.readouterr().err == (
        "pyclaw: error: no daemon is running; run run_live is not running in any process "
        "(it will be marked interrupted when the daemon starts)\n"
    )
    assert pyclaw(home, "runs", "stop", "run_done") == 1
    assert capsys.readouterr().err == (
        "pyclaw: error: run run_done is not running (status: succeeded)\n"
    )
    assert pyclaw(home, "runs", "stop", "run_nope") == 2
    assert capsys.readouterr().err == "pyclaw: error: no run with id 'run_nope'\n"


def test_runs_stop_through_the_daemon(
    home: PyClawHome, daemon: Daemon, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_record_runs(home))
    assert pyclaw(home, "runs", "stop", "run_live") == 0
    assert capsys.readouterr().out == "stopped run run_live\n"
    assert {"op": "runs.stop", "run_id": "run_live"} in daemon.requests
    assert pyclaw(home, "runs", "stop", "run_orphan") == 1
    assert "run run_orphan is not running in the daemon" in capsys.readouterr().err
    assert pyclaw(home, "runs", "stop", "run_nope") == 2
    assert capsys.readouterr().err == "pyclaw: error: no run with id 'run_nope'\n"
