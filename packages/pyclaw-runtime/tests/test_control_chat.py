"""``pyclaw chat`` through a daemon: a fake daemon speaks the ``chat`` op over a real socket."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from pyclaw.meta import (
    ApprovalRequest,
    Message,
    RunResult,
    RunStatus,
    SessionEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    UsageError,
)
from pyclaw.runtime._control import (
    ControlError,
    ControlServer,
    DaemonRequestError,
    JsonObject,
    ReplyStream,
)
from pyclaw.runtime._control_chat import chat_once_via_daemon, chat_repl_via_daemon
from pyclaw.runtime._home import PyClawHome

CALL = ToolCall(name="exec", arguments={"command": "ls"})
RUN_ID = "run_1"


def event(seq: int, payload: ToolCallEvent | ToolResultEvent) -> JsonObject:
    sealed = SessionEvent.seal(
        session_id="ses_1", seq=seq, payload=payload, prev_hash="0" * 64, run_id=RUN_ID
    )
    return {"event": "session_event", "data": sealed.model_dump(mode="json")}


def done(text: str) -> JsonObject:
    result = RunResult(
        run_id=RUN_ID, status=RunStatus.SUCCEEDED, answer=Message.assistant(text), steps=2
    )
    return {"event": "done", "session_id": "ses_1", "result": result.model_dump(mode="json")}


class FakeDaemon:
    """The daemon's ``chat``: behaviour chosen by the message text."""

    def __init__(self) -> None:
        self.chats: list[JsonObject] = []
        self.answers: list[JsonObject | None] = []
        self.stops: list[JsonObject] = []
        self.waiting = asyncio.Event()

    async def handle(self, request: JsonObject, reply: ReplyStream) -> None:
        if request.get("op") == "ping":
            await reply.send({"ok": True, "pid": 77, "started_at": "x", "version": "0"})
            return
        if request.get("op") == "runs.stop":
            self.stops.append(request)
            await reply.send({"ok": True, "stopped": True})
            return
        self.chats.append(request)
        text = request.get("text")
        if text == "unknown agent":
            raise UsageError("unknown agent 'nope'")
        await reply.send({"event": "session", "session_id": "ses_1"})
        await reply.send(event(0, ToolCallEvent(call=CALL)))
        await reply.send({"event": "text", "delta": "Run"})
        if text == "hang up":
            return
        if text == "no result":
            await reply.send({"event": "done", "session_id": "ses_1", "result": None})
            return
        if text == "wait":
            self.waiting.set()
            await asyncio.Event().wait()
        request_ = ApprovalRequest(
            session_id="ses_1", run_id=RUN_ID, agent="main", call=CALL, reason="exec is risky"
        )
        await reply.send({"event": "approval", "request": request_.model_dump(mode="json")})
        try:
            self.answers.append(await asyncio.wait_for(reply.receive(), 0.5))
        except TimeoutError:
            self.answers.append(None)  # e.g. answered with 'pyclaw approvals approve'
        failed = ToolResult(call_id=CALL.id, name="exec", status="error", content="")
        await reply.send(event(1, ToolResultEvent(result=failed)))
        await reply.send(done("Ran it."))


@pytest.fixture
def home(tmp_path: Path) -> PyClawHome:
    return PyClawHome.at(tmp_path / "h")


async def test_an_approval_is_asked_inline_and_answered_on_the_connection(
    home: PyClawHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[ApprovalRequest] = []

    def ask(request: ApprovalRequest) -> str:
        asked.append(request)
        return "w"

    monkeypatch.setattr("pyclaw.runtime._control_chat.ask_approval", ask)
    daemon = FakeDaemon()
    async with ControlServer(home.control_socket, daemon):
        session_id, result = await chat_once_via_daemon(
            home, "go", agent="main", session_id=None, interactive=True, verbose=True
        )
    assert session_id == "ses_1"
    assert result.answer is not None
    assert result.answer.text == "Ran it."
    (chat,) = daemon.chats
    assert chat["op"] == "chat"
    assert chat["text"] == "go"
    assert chat["agent"] == "main"
    assert chat["session"] is None
    assert str(chat["id"]).startswith("cli:")
    assert [a.call.name for a in asked] == ["exec"]
    assert daemon.answers == [
        {
            "op": "approve",
            "request_id": asked[0].id,
            "verdict": "allow",
            "scope": "window",
            "window_seconds": 600.0,
        }
    ]
    shown = capsys.readouterr().err
    assert "→ exec(command='ls')" in shown
    assert "✗ exec: error" in shown


async def test_without_a_terminal_it_prints_the_hint_and_keeps_waiting(
    home: PyClawHome, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = FakeDaemon()
    async with ControlServer(home.control_socket, daemon):
        session_id, result = await chat_once_via_daemon(
            home, "go", agent=None, session_id="ses_1", interactive=False, verbose=False
        )
    assert (session_id, result.status) == ("ses_1", RunStatus.SUCCEEDED)
    assert daemon.chats[0]["session"] == "ses_1"
    assert daemon.answers == [None]
    shown = capsys.readouterr().err
    assert "pyclaw approvals approve apr_" in shown
    assert "→ exec" not in shown  # not verbose


async def test_an_error_reply_is_one_error_with_the_daemons_exit_status(
    home: PyClawHome,
) -> None:
    async with ControlServer(home.control_socket, FakeDaemon()):
        with pytest.raises(DaemonRequestError, match="unknown agent 'nope'") as refused:
            await chat_once_via_daemon(
                home,
                "unknown agent",
                agent="nope",
                session_id=None,
                interactive=False,
                verbose=False,
            )
    assert refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hang up", "closed the connection before the run finished (see 'pyclaw runs show run_1')"),
        ("no result", "the run ended without a result (see 'pyclaw runs show run_1')"),
    ],
)
async def test_a_turn_without_its_result_fails_clearly(
    home: PyClawHome, text: str, message: str
) -> None:
    async with ControlServer(home.control_socket, FakeDaemon()):
        with pytest.raises(ControlError) as failed:
            await chat_once_via_daemon(
                home, text, agent=None, session_id=None, interactive=False, verbose=False
            )
    assert message in str(failed.value)


async def test_interrupting_the_client_stops_its_run(home: PyClawHome) -> None:
    daemon = FakeDaemon()
    async with ControlServer(home.control_socket, daemon):
        turn = asyncio.create_task(
            chat_once_via_daemon(
                home, "wait", agent=None, session_id=None, interactive=False, verbose=False
            )
        )
        await asyncio.wait_for(daemon.waiting.wait(), 5)
        await asyncio.sleep(0.05)  # the client has read the session event naming the run
        turn.cancel()
        with pytest.raises(asyncio.CancelledError):
            await turn
    assert daemon.stops == [{"op": "runs.stop", "run_id": RUN_ID}]


async def test_the_conversation_keeps_its_session(
    home: PyClawHome, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def deny(request: ApprovalRequest) -> str:
        del request
        return "d"

    monkeypatch.setattr("pyclaw.runtime._control_chat.ask_approval", deny)
    monkeypatch.setattr("sys.stdin", io.StringIO("go\n\ngo\n/exit\nnever sent\n"))
    daemon = FakeDaemon()
    async with ControlServer(home.control_socket, daemon):
        await chat_repl_via_daemon(home, agent="main", session_id=None)
    assert [(c["text"], c["session"]) for c in daemon.chats] == [("go", None), ("go", "ses_1")]
    assert [a["verdict"] if a else None for a in daemon.answers] == ["deny", "deny"]
    captured = capsys.readouterr()
    assert captured.out == "Ran it.\nRan it.\n"
    assert "through the daemon (pid 77)" in captured.err
