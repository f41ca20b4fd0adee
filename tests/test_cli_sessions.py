"""``pyclaw sessions`` and ``pyclaw runs`` over a database filled through ``SQLiteSessionLog``,
including integrity failures: a tampered event, a corrupted artifact and a newer schema."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.cli_harness import invoke

from pyclaw.artifact import ARTIFACT_MIGRATIONS, FileArtifactStore
from pyclaw.meta import (
    AssistantMessageEvent,
    Message,
    RunStatus,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    Usage,
    UserMessageEvent,
)
from pyclaw.session import SESSION_MIGRATIONS, SQLiteSessionLog
from pyclaw.storage import Database

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"
BIG = "lorem ipsum " * 10_000  # > 64 KiB: the payload is offloaded to an artifact


@dataclass
class Recorded:
    home: Path
    chat: str  # a telegram session with one finished run
    big: str  # a terminal session whose user message lives in an artifact
    run: str


@pytest.fixture
async def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorded:
    home = tmp_path / "home"
    monkeypatch.setenv("PYCLAW_HOME", str(home))
    db = Database.open(home / "pyclaw.db", migrations=[ARTIFACT_MIGRATIONS, SESSION_MIGRATIONS])
    try:
        artifacts = FileArtifactStore(home / "artifacts", db)
        log = SQLiteSessionLog(db, artifacts=artifacts)
        chat = await log.create_session(agent="default", channel="telegram", title="groceries")
        run_record = await log.start_run(chat.id, agent="default", trigger="telegram")
        call = ToolCall(name="read_file", arguments={"path": "list.txt"})
        await log.append(
            chat.id, UserMessageEvent(message=Message.user("add milk")), run_id=run_record.id
        )
        await log.append_many(
            chat.id,
            [
                AssistantMessageEvent(message=Message.assistant("", tool_calls=(call,))),
                ToolCallEvent(call=call),
                ToolResultEvent(
                    result=ToolResult(call_id=call.id, name="read_file", content="eggs, bread")
                ),
                AssistantMessageEvent(message=Message.assistant("Added milk."), final=True),
            ],
            run_id=run_record.id,
        )
        await log.finish_run(
            run_record.id,
            status=RunStatus.SUCCEEDED,
            usage=Usage(input_tokens=120, output_tokens=30),
        )
        big = await log.create_session(agent="coder", channel="terminal")
        await log.append(big.id, UserMessageEvent(message=Message.user(BIG)))
    finally:
        db.close()
    return Recorded(home, chat.id, big.id, run_record.id)


def test_sessions_list_json(recorded: Recorded) -> None:
    result = invoke("sessions", "list", "--json")
    assert result.code == 0, result.err
    sessions = json.loads(result.out)
    assert [s["id"] for s in sessions] == [recorded.big, recorded.chat]  # most recent first
    for item in sessions:
        assert {"id", "agent", "channel", "created_at"} <= item.keys()
    assert sessions[1]["agent"] == "default"
    assert sessions[1]["channel"] == "telegram"
    filtered = json.loads(invoke("sessions", "list", "--json", "--agent", "coder").out)
    assert [s["id"] for s in filtered] == [recorded.big]
    assert len(json.loads(invoke("sessions", "list", "--json", "--limit", "1").out)) == 1


def test_sessions_list_human(recorded: Recorded) -> None:
    result = invoke("sessions", "list")
    lines = result.out.splitlines()
    assert lines[0].split("\t") == ["id", "agent", "channel", "created", "events", "title"]
    row = lines[2].split("\t")
    assert row[0] == recorded.chat
    assert row[1:3] == ["default", "telegram"]
    assert row[5] == "groceries"


def test_sessions_show(recorded: Recorded) -> None:
    events = json.loads(invoke("sessions", "show", recorded.chat, "--json").out)
    assert [e["seq"] for e in events] == list(range(len(events)))
    kinds = [e["payload"]["kind"] for e in events]
    assert kinds[kinds.index("user_message") :] == [
        "user_message",
        "assistant_message",
        "tool_call",
        "tool_result",
        "assistant_message",
        "run_finished",
    ]
    human = invoke("sessions", "show", recorded.chat)
    assert human.code == 0
    text = human.out
    assert text.splitlines()[0].startswith(f"session {recorded.chat} · groceries · agent default")
    assert "user: add milk" in text
    assert 'tool call read_file {"path": "list.txt"}' in text
    assert "tool read_file → ok: eggs, bread" in text
    assert "assistant (final): Added milk." in text
    assert f"run {recorded.run} succeeded (120 in / 30 out tokens)" in text


def test_sessions_show_reads_offloaded_payloads(recorded: Recorded) -> None:
    events = json.loads(invoke("sessions", "show", recorded.big, "--json").out)
    assert events[0]["payload"]["message"]["parts"][0]["text"] == BIG


def test_sessions_export(recorded: Recorded, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bundle.json"
    target.parent.mkdir()
    result = invoke("sessions", "export", recorded.chat, "-o", str(target))
    assert result.code == 0, result.err
    bundle = json.loads(target.read_text())
    assert bundle["format"] == "pyclaw-session"
    assert bundle["version"] == 1
    assert bundle["session"]["id"] == recorded.chat
    assert len(bundle["events"]) == bundle["session"]["event_count"]
    assert bundle["runs"][0]["id"] == recorded.run
    assert bundle["chain"]["ok"] is True
    to_stdout = json.loads(invoke("sessions", "export", recorded.chat).out)
    assert to_stdout["events"] == bundle["events"]


def test_unknown_session_is_one_line(recorded: Recorded) -> None:
    result = invoke("sessions", "show", "ses_nope")
    assert result.code != 0
    assert result.err.count("\n") == 1
    assert "ses_nope" in result.err


def test_sessions_verify_ok(recorded: Recorded) -> None:
    result = invoke("sessions", "verify", "--all")
    assert result.code == 0, result.err
    assert [line.split()[:2] for line in result.out.splitlines()] == [
        ["ok", f"{recorded.chat}:"],
        ["ok", f"{recorded.big}:"],
    ]
    reports = json.loads(invoke("sessions", "verify", recorded.chat, "--json").out)
    assert reports[0]["ok"] is True
    usage = invoke("sessions", "verify")
    assert usage.code == 2
    assert "--all" in usage.err


def tamper(home: Path, session_id: str, seq: int) -> None:
    """Edit a stored event the way someone with the file would: around the append-only trigger."""
    conn = sqlite3.connect(home / "pyclaw.db")
    with conn:
        conn.execute("DROP TRIGGER events_no_update")
        changed = conn.execute(
            "UPDATE events SET payload = replace(payload, 'milk', 'beer') "
            "WHERE session_id = ? AND seq = ?",
            (session_id, seq),
        ).rowcount
    conn.close()
    assert changed == 1


def test_tampered_event_fails_verify_with_exit_4(recorded: Recorded) -> None:
    events = json.loads(invoke("sessions", "show", recorded.chat, "--json").out)
    seq = next(e["seq"] for e in events if e["payload"]["kind"] == "user_message")
    tamper(recorded.home, recorded.chat, seq)
    result = invoke("sessions", "verify", "--all")
    assert result.code == 4
    assert f"FAIL  {recorded.chat}: seq {seq}" in result.out
    assert "payload does not match its digest" in result.out
    assert f"ok    {recorded.big}:" in result.out
    assert result.err == (
        f"pyclaw: error: hash chain broken in 1 of 2 session(s) (first: {recorded.chat} seq {seq}:"
        " payload does not match its digest)\n"
    )
    as_json = invoke("sessions", "verify", recorded.chat, "--json")
    assert as_json.code == 4
    assert json.loads(as_json.out)[0]["ok"] is False


def corrupt_artifact(home: Path) -> Path:
    files = [p for p in (home / "artifacts").rglob("*") if p.is_file() and len(p.name) == 64]
    assert len(files) == 1
    data = bytearray(files[0].read_bytes())
    data[100] ^= 0xFF
    files[0].write_bytes(bytes(data))
    return files[0]


def test_corrupted_artifact_is_exit_4_and_doctor_fails(recorded: Recorded) -> None:
    damaged = corrupt_artifact(recorded.home)
    show = invoke("sessions", "show", recorded.big)
    assert show.code == 4
    assert show.out == ""
    assert show.err.count("\n") == 1
    assert show.err.startswith("pyclaw: error: ")
    assert damaged.name[:12] in show.err
    verify = invoke("sessions", "verify", recorded.big)
    assert verify.code == 4
    assert "payload artifact is corrupt" in verify.out
    doctor = invoke("doctor")
    assert doctor.code == 1
    line = next(line for line in doctor.out.splitlines() if "artifacts:" in line)
    assert line.startswith("fail  artifacts: 1 of 1 damaged: corrupt ")
    assert damaged.name[:12] in line
    # The other session is still readable.
    assert invoke("sessions", "show", recorded.chat).code == 0


def test_runs_list_and_show(recorded: Recorded) -> None:
    runs = json.loads(invoke("runs", "list", "--json").out)
    assert [r["id"] for r in runs] == [recorded.run]
    assert runs[0]["status"] == "succeeded"
    assert json.loads(invoke("runs", "list", "--json", "--status", "running").out) == []
    shown = json.loads(invoke("runs", "show", recorded.run, "--json").out)
    assert shown["usage"]["input_tokens"] == 120
    human = invoke("runs", "show", recorded.run)
    assert "status    succeeded" in human.out
    assert "tokens    120 in / 30 out / 0 cached" in human.out
    missing = invoke("runs", "show", "run_missing")
    assert missing.code != 0
    assert missing.err.count("\n") == 1


def test_newer_schema_is_refused_with_exit_3_and_untouched(recorded: Recorded) -> None:
    db_path = recorded.home / "pyclaw.db"
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO _pyclaw_migrations (component, version, name, applied_at) "
            "VALUES ('session', 99, 'from the future', '2030-01-01T00:00:00+00:00')"
        )
    conn.close()
    before = db_path.read_bytes()
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for args in (["sessions", "list"], ["db", "migrate"]):
        result = subprocess.run(
            [str(PYCLAW), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert result.returncode == 3, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert "schema 'session' is at version 99" in result.stderr
        assert db_path.read_bytes() == before
    doctor = invoke("doctor")
    assert doctor.code == 1
    assert any(
        line.startswith("fail  database:") and "version 99" in line
        for line in doctor.out.splitlines()
    )
    assert db_path.read_bytes() == before
