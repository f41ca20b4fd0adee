"""``pyclaw eval`` end to end: sessions recorded through the real runtime against a scripted model
on 127.0.0.1, then replayed with the real CLI (strict determinism, changed answers and tool
sequences, recorded tools never executed, baselines, suites, export → import → replay)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.cli_harness import Outcome, invoke

from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.meta import ApprovalDecision, ApprovalRequest, RunStatus, ToolCall, Verdict
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config_load import load_config
from pyclaw.runtime._home import PyClawHome

API_KEY = "sk-eval-0123456789abcdef"
NOTES = ToolCall(name="read_file", arguments={"path": "notes.txt"})
MAKE = ToolCall(name="exec", arguments={"command": "echo built > made.txt"})
ANSWER_1 = "The notes say: buy milk."
ANSWER_2 = "Built it."


def write_config(home: Path, base_url: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "pyclaw.toml").write_text(
        f'default_agent = "main"\n[providers.fake]\nkind = "openai-compatible"\n'
        f'base_url = "{base_url}"\nmodel = "scripted"\napi_key = "{API_KEY}"\n'
        '[agents.main]\nprovider = "fake"\ntools = ["read_file", "exec"]\n'
    )


def script(answer_1: str = ANSWER_1, first_call: ToolCall = NOTES) -> list[FakeReply]:
    return [
        FakeReply(tool_calls=[first_call]),
        FakeReply(text=answer_1),
        FakeReply(tool_calls=[MAKE]),
        FakeReply(text=ANSWER_2),
    ]


async def record_session(home_dir: Path) -> str:
    """Two turns: read a workspace file, then an approved exec that writes a file."""
    home = PyClawHome.at(str(home_dir))
    home.ensure_layout()
    (home.workspace_dir / "notes.txt").write_text(f"buy milk (key {API_KEY})\n")
    holder: list[AgentRuntime] = []

    async def approve(request: ApprovalRequest) -> None:
        decision = ApprovalDecision(
            request_id=request.id,
            call_hash=request.call_hash,
            verdict=Verdict.ALLOW,
            decided_by="test",
        )
        await holder[0].approvals.resolve(request.id, decision)

    with FakeOpenAIServer(script()) as server:
        write_config(home_dir, server.base_url)
        async with AgentRuntime.open(home, load_config(home.config_path), present=approve) as rt:
            holder.append(rt)
            session, first = await rt.run_turn("What do my notes say?", agent="main")
            _, second = await rt.run_turn("Build it.", agent="main", session_id=session.id)
    assert (first.status, second.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    assert (home.workspace_dir / "made.txt").read_text() == "built\n"
    return session.id


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    home = tmp_path / "home"
    monkeypatch.setenv("PYCLAW_HOME", str(home))
    session_id = asyncio.run(record_session(home))
    # the tools' world is gone: a replay that really ran them would differ
    (home / "workspace" / "notes.txt").unlink()
    (home / "workspace" / "made.txt").unlink()
    return home, session_id


def replay_with(
    home: Path, replies: Sequence[FakeReply], *args: str
) -> tuple[Outcome, FakeOpenAIServer]:
    with FakeOpenAIServer(list(replies)) as server:
        write_config(home, server.base_url)
        outcome = invoke("eval", "replay", *args)
    return outcome, server


def test_strict_replay_passes_without_model_or_tools(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    write_config(home, "http://127.0.0.1:9/v1")  # nothing listens: no model call may happen
    report = home.parent / "r.json"
    result = invoke("eval", "replay", sid, "--strict", "--report", str(report))
    assert result.code == 0, result.err
    assert "2 of 2 case(s) passed" in result.err
    data = json.loads(report.read_text())
    assert [c["id"] for c in data["cases"]] == [f"{sid}#1", f"{sid}#2"]
    checks = {c["name"]: c["ok"] for c in data["cases"][1]["attempts"][0]["checks"]}
    assert checks == {
        "status": True,
        "answer": True,
        "tools": True,
        "approvals": True,
        "divergence": True,
        "events": True,
    }
    assert data["cases"][1]["attempts"][0]["observed"]["approvals"] == [
        'exec {"command":"echo built > made.txt"}'
    ]
    assert not (home / "workspace" / "made.txt").exists()  # exec was served, never run
    # the replay wrote nothing into the home's sessions
    listed = json.loads(invoke("sessions", "list", "--json").out)
    assert [s["id"] for s in listed] == [sid]


def test_a_changed_model_answer_fails_with_a_diff(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    result, server = replay_with(home, script(answer_1="The notes say: buy bread."), sid)
    assert result.code == 1, result.err
    assert "-The notes say: buy milk." in result.err
    assert "+The notes say: buy bread." in result.err
    assert "1 of 2 case(s) passed" in result.err
    assert server.remaining == 0
    assert not (home / "workspace" / "made.txt").exists()


def test_a_changed_tool_sequence_fails(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    other = ToolCall(name="read_file", arguments={"path": "todo.txt"})
    result, _ = replay_with(home, script(first_call=other), sid, "--json")
    assert result.code == 1
    report = json.loads(result.out)
    failed = {c["name"]: c for c in report["cases"][0]["attempts"][0]["checks"] if not c["ok"]}
    assert set(failed) == {"tools", "divergence"}
    assert '-read_file {"path":"notes.txt"}' in failed["tools"]["diff"]
    assert '+read_file {"path":"todo.txt"}' in failed["tools"]["diff"]
    assert "not in the recording" in failed["divergence"]["detail"]
    assert report["cases"][1]["attempts"][0]["passed"] is True


def test_baseline_shows_improved_and_regressed(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    base = home.parent / "base.json"
    wrong_second = [*script()[:3], FakeReply(text="Nope.")]
    first, _ = replay_with(home, wrong_second, sid, "--report", str(base))
    assert first.code == 1
    wrong_first = script(answer_1="Something else.")
    second, _ = replay_with(home, wrong_first, sid, "--baseline", str(base), "--json")
    assert second.code == 1
    report = json.loads(second.out)
    assert [c["baseline"] for c in report["cases"]] == ["regressed", "improved"]
    assert (report["summary"]["improved"], report["summary"]["regressed"]) == (1, 1)
    same, _ = replay_with(home, wrong_second, sid, "--baseline", str(base))
    assert same.code == 0, same.err  # the known failure is unchanged: no regression
    assert "0 improved, 0 regressed" in same.err


def test_usage_errors_exit_2(recorded: tuple[Path, str]) -> None:
    _, sid = recorded
    assert invoke("eval", "replay", "ses_nope").code == 2
    assert invoke("eval", "replay", sid, "--strict", "--model", "x").code == 2
    assert invoke("eval", "replay", sid, "--strict", "--tools", "live").code == 2
    assert invoke("eval", "replay", sid, "--compare", "nomodule:fn").code == 2
    assert invoke("eval", "replay").code == 2


def test_suite_file_runs_replays_and_inline_prompts(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    suite = home.parent / "suite.toml"
    suite.write_text(
        f'name = "smoke"\nstrict = true\n[[cases]]\nsession = "{sid}"\nturn = 1\n'
        'assert = [{ tool_called = "read_file", args = { path = "notes.txt" } }, '
        '{ regex = "milk\\\\.$" }, { tool_not_called = "exec" }]\n'
        '[[cases]]\nname = "greets"\nprompt = "Say hello"\n'
        'assert = [{ contains = "hello" }, { max_cost_usd = 1.0 }]\n'
    )
    with FakeOpenAIServer([FakeReply(text="hello there")]) as server:
        write_config(home, server.base_url)
        result = invoke("eval", "run", str(suite), "--json")
    assert result.code == 0, result.err + result.out
    report = json.loads(result.out)
    assert [c["id"] for c in report["cases"]] == [f"{sid}#1", "prompt:greets"]
    assert all(c["attempts"][0]["passed"] for c in report["cases"])
    suite.write_text(suite.read_text().replace('contains = "hello"', 'contains = "goodbye"'))
    with FakeOpenAIServer([FakeReply(text="hello there")]) as server:
        write_config(home, server.base_url)
        failing = invoke("eval", "run", str(suite))
    assert failing.code == 1
    assert "contains 'goodbye' failed (answer: 'hello there')" in failing.err


def test_export_import_into_another_home_then_replay(
    recorded: tuple[Path, str], tmp_path: Path
) -> None:
    _, sid = recorded
    bundle = tmp_path / "bundle.json"
    exported = invoke("eval", "export", sid, "-o", str(bundle))
    assert exported.code == 0, exported.err
    text = bundle.read_text()
    assert API_KEY not in text  # the key was in a tool result and is redacted
    assert "buy milk" in text
    other = tmp_path / "other"
    write_config(other, "http://127.0.0.1:9/v1")
    other_key = API_KEY[::-1]  # a different home: the key there is not the recorded one
    (other / "pyclaw.toml").write_text(
        (other / "pyclaw.toml").read_text().replace(API_KEY, other_key)
    )
    imported = invoke("--home", str(other), "eval", "import", str(bundle))
    assert imported.code == 0, imported.err
    new_id = imported.out.strip()
    assert new_id.startswith("ses_")
    assert new_id != sid
    shown = json.loads(invoke("--home", str(other), "sessions", "show", new_id, "--json").out)
    original = json.loads(invoke("sessions", "show", sid, "--json").out)
    assert [e["payload"]["kind"] for e in shown] == [e["payload"]["kind"] for e in original]
    assert invoke("--home", str(other), "sessions", "verify", new_id).code == 0
    replayed = invoke("--home", str(other), "eval", "replay", new_id, "--strict")
    assert replayed.code == 0, replayed.err
