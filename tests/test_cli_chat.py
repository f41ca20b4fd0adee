"""``pyclaw chat``, ``tools``, ``approvals`` and ``grants`` as users run them: real processes.

The model is ``FakeOpenAIServer`` on 127.0.0.1 behind an ``openai-compatible`` provider. The
approval test is two processes: ``pyclaw chat -m`` waits for a decision that a second command,
``pyclaw approvals approve``, writes to the home's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import time
from pathlib import Path

from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.meta import ToolCall
from pyclaw.runtime._config import DEFAULT_AGENT_TOOLS

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"


def pyclaw(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYCLAW), *args],
        env={**os.environ, "PYCLAW_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_config(home: Path, server: FakeOpenAIServer, extra: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "pyclaw.toml").write_text(
        f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{server.base_url}"\n'
        f'model = "scripted"\n[agents.main]\nprovider = "fake"\n{extra}'
    )


def test_chat_prints_the_final_answer_and_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with FakeOpenAIServer([FakeReply(text="Hello there."), FakeReply(text="Again.")]) as server:
        write_config(home, server)
        plain = pyclaw(home, "chat", "-m", "hi")
        assert plain.returncode == 0, plain.stderr
        assert plain.stdout == "Hello there.\n"
        as_json = pyclaw(home, "chat", "-m", "hi again", "--json")
        assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["answer"] == "Again."
    assert data["status"] == "succeeded"
    assert data["session_id"].startswith("ses_")
    sessions = json.loads(pyclaw(home, "sessions", "list", "--json").stdout)
    assert len(sessions) == 2
    assert {s["agent"] for s in sessions} == {"main"}
    events = json.loads(pyclaw(home, "sessions", "show", data["session_id"], "--json").stdout)
    kinds = [e["payload"]["kind"] for e in events]
    assert kinds[:2] == ["run_started", "user_message"]
    assert kinds[-1] == "run_finished"


def test_chat_continues_a_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with FakeOpenAIServer([FakeReply(text="One."), FakeReply(text="Two.")]) as server:
        write_config(home, server)
        first = json.loads(pyclaw(home, "chat", "-m", "first", "--json").stdout)
        second = pyclaw(home, "chat", "-m", "second", "--session", first["session_id"], "--json")
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["session_id"] == first["session_id"]
    sent = server.requests[1].body["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"] == ["first", "One.", "second"]


def test_chat_with_an_unreachable_model_fails_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pyclaw.toml").write_text(
        '[providers.down]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "x"\ntimeout = 5\n[agents.main]\nprovider = "down"\n'
    )
    result = pyclaw(home, "chat", "-m", "hi")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error:")


def test_chat_usage_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert pyclaw(home, "chat", "--json").returncode == 2
    assert pyclaw(home, "chat", "-m", "  ").returncode == 2
    unknown = pyclaw(home, "chat", "-m", "hi", "--agent", "nobody")
    assert unknown.returncode == 2
    assert "unknown agent 'nobody'" in unknown.stderr


def test_tools_list(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = pyclaw(home, "tools", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    expected = set(DEFAULT_AGENT_TOOLS)  # every built-in but delegate (Cortensor)
    assert expected <= rows.keys()
    assert rows["exec"]["risk"] == "risky"
    assert rows["read_file"]["risk"] == "safe"
    assert all(rows[name]["available"] for name in expected)


def wait_for_pending(home: Path, seconds: float = 30) -> list[dict[str, object]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listed = pyclaw(home, "approvals", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        pending: list[dict[str, object]] = json.loads(listed.stdout)
        if pending:
            return pending
        time.sleep(0.2)
    raise AssertionError("no approval request appeared")


def test_an_approval_answered_from_another_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "made"
    script = [
        FakeReply(tool_calls=[ToolCall(name="exec", arguments={"command": f"touch {marker}"})]),
        FakeReply(text="Created it."),
    ]
    with FakeOpenAIServer(script) as server:
        write_config(home, server)
        chat = subprocess.Popen(
            [str(PYCLAW), "chat", "-m", "make the file"],
            env={**os.environ, "PYCLAW_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            (request,) = wait_for_pending(home)
            assert not marker.exists()
            call = request["call"]
            assert isinstance(call, dict)
            assert call["name"] == "exec"
            approved = pyclaw(
                home, "approvals", "approve", str(request["id"]), "--scope", "session"
            )
            assert approved.returncode == 0, approved.stderr
            out, err = chat.communicate(timeout=60)
        finally:
            if chat.poll() is None:
                chat.kill()
                chat.communicate()
    assert chat.returncode == 0, err
    assert out == "Created it.\n"
    assert "approval needed" in err
    assert f"pyclaw approvals approve {request['id']}" in err
    assert marker.exists()
    # answering twice is refused with one line
    again = pyclaw(home, "approvals", "deny", str(request["id"]))
    assert again.returncode != 0
    assert "Traceback" not in again.stderr
    grants = json.loads(pyclaw(home, "grants", "list", "--json").stdout)
    assert [(g["tool"], g["scope"]) for g in grants] == [("exec", "session")]
    revoked = pyclaw(home, "grants", "revoke", grants[0]["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(pyclaw(home, "grants", "list", "--json").stdout) == []
    everything = json.loads(pyclaw(home, "grants", "list", "--all", "--json").stdout)
    assert everything[0]["revoked_at"] is not None


def test_unknown_approval_and_grant_ids_are_one_line_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args in (("approvals", "approve", "apr_nope"), ("grants", "revoke", "grt_nope")):
        result = pyclaw(home, *args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_window_flag_needs_window_scope(tmp_path: Path) -> None:
    result = pyclaw(tmp_path / "home", "approvals", "approve", "apr_x", "--window", "5m")
    assert result.returncode == 2
    assert "--window goes with --scope window" in result.stderr
