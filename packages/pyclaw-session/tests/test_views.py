"""The viewer views (v_events, v_turns, v_tool_calls, v_llm_calls) over a small recorded session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pyclaw.meta import (
    AssistantMessageEvent,
    ErrorInfo,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    RunStatus,
    StopReason,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    Usage,
    UserMessageEvent,
)
from pyclaw.session import SQLiteSessionLog
from pyclaw.session.testing import MemoryArtifactStore
from pyclaw.storage import Database


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[SQLiteSessionLog]:
    db = Database.open(tmp_path / "pyclaw.db")
    yield SQLiteSessionLog(db, artifacts=MemoryArtifactStore(), inline_limit=4000)
    db.close()


def rows(log: SQLiteSessionLog, sql: str, *params: object) -> list[dict[str, Any]]:
    cursor = log.db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


READ = ToolCall(id="call_1", name="read_file", arguments={"path": "a.txt"})
EXEC = ToolCall(id="call_2", name="exec", arguments={"cmd": "ls"})


async def record(log: SQLiteSessionLog) -> tuple[str, str, str]:
    """Two runs of a telegram session; returns (session id, first run id, second run id)."""
    session = await log.create_session(agent="main", channel="telegram")
    sid = session.id
    await log.append(sid, UserMessageEvent(message=Message.user("first question")))
    run1 = await log.start_run(sid, agent="main", trigger="telegram")
    request = LLMRequest(model="gpt-x", messages=(Message.user("first question"),))
    response = LLMResponse(
        model="gpt-x-2026",
        provider="openai",
        message=Message.assistant("", (READ,)),
        stop_reason=StopReason.TOOL_USE,
        usage=Usage(input_tokens=100, output_tokens=20, cached_tokens=10),
        cost_usd=0.001,
        latency_ms=250.0,
    )
    await log.append_many(
        sid,
        [
            LLMRequestEvent(call_id="llm_1", provider="openai", request=request),
            LLMResponseEvent(call_id="llm_1", provider="openai", response=response),
            AssistantMessageEvent(message=Message.assistant("", (READ, EXEC))),
            ToolCallEvent(call=READ),
            ToolResultEvent(
                result=ToolResult(
                    call_id="call_1", name="read_file", content="hello " * 100, duration_ms=12.5
                )
            ),
            ToolCallEvent(call=EXEC),  # never answered: the process died
            LLMRequestEvent(call_id="llm_2", provider="openai", request=request),
            LLMResponseEvent(
                call_id="llm_2",
                provider="openai",
                error=ErrorInfo(type="ProviderError", message="timeout", retryable=True),
            ),
            AssistantMessageEvent(message=Message.assistant("Here it is"), final=True),
        ],
        run_id=run1.id,
    )
    await log.finish_run(
        run1.id,
        status=RunStatus.SUCCEEDED,
        usage=Usage(input_tokens=100, output_tokens=20, cached_tokens=10),
        cost_usd=0.001,
    )
    run2 = await log.start_run(sid, agent="main")
    await log.append(sid, UserMessageEvent(message=Message.user("second question")), run_id=run2.id)
    # another session reusing the same call ids must not leak into the joins
    other = await log.create_session(agent="main", channel="cli")
    await log.append_many(
        other.id,
        [
            ToolResultEvent(result=ToolResult(call_id="call_2", name="exec", content="foreign")),
            LLMResponseEvent(call_id="llm_1", provider="other", response=response),
        ],
    )
    return sid, run1.id, run2.id


async def test_v_events(log: SQLiteSessionLog) -> None:
    sid, run1, _ = await record(log)
    events = rows(log, "SELECT * FROM v_events WHERE session_id = ? ORDER BY seq", sid)
    assert [e["seq"] for e in events] == list(range(14))
    assert [e["kind"] for e in events][:4] == [
        "user_message",
        "run_started",
        "llm_request",
        "llm_response",
    ]
    summary = {e["seq"]: e["summary"] for e in events}
    assert summary[0] == "first question"
    assert summary[1] == "main (telegram)"
    assert summary[2] == "openai gpt-x"
    assert summary[3] == "openai tool_use"
    assert summary[4] == "[tool calls: read_file, exec]"
    assert summary[5] == 'read_file({"path":"a.txt"})'
    assert summary[6].startswith("read_file -> ok: hello hello")
    assert summary[9] == "openai error: timeout"
    assert summary[10] == "Here it is"
    assert summary[11] == "succeeded"
    assert events[2]["run_id"] == run1
    assert json.loads(events[0]["payload"])["kind"] == "user_message"
    assert events[0]["payload_ref"] is None


async def test_v_turns(log: SQLiteSessionLog) -> None:
    sid, run1, run2 = await record(log)
    turns = {t["run_id"]: t for t in rows(log, "SELECT * FROM v_turns")}
    assert set(turns) == {run1, run2}
    first = turns[run1]
    assert (first["session_id"], first["channel"], first["agent"], first["trigger"]) == (
        sid,
        "telegram",
        "main",
        "telegram",
    )
    assert first["user_text"] == "first question"  # recorded just before the run started
    assert first["final_text"] == "Here it is"
    assert first["status"] == "succeeded"
    assert (first["input_tokens"], first["output_tokens"], first["cached_tokens"]) == (100, 20, 10)
    assert first["cost_usd"] == pytest.approx(0.001)
    assert first["duration_ms"] is not None
    assert 0 <= first["duration_ms"] < 60_000
    assert first["error"] is None
    second = turns[run2]
    assert second["user_text"] == "second question"
    assert second["final_text"] is None
    assert second["status"] == "running"
    assert second["duration_ms"] is None


async def test_v_tool_calls(log: SQLiteSessionLog) -> None:
    sid, run1, _ = await record(log)
    calls = rows(log, "SELECT * FROM v_tool_calls ORDER BY seq")
    assert [(c["session_id"], c["call_id"], c["tool"]) for c in calls] == [
        (sid, "call_1", "read_file"),
        (sid, "call_2", "exec"),
    ]
    read, execute = calls
    assert read["run_id"] == run1
    assert json.loads(read["arguments"]) == {"path": "a.txt"}
    assert read["status"] == "ok"
    assert read["duration_ms"] == 12.5
    assert read["content_preview"] == ("hello " * 100)[:200]
    assert read["result_seq"] == read["seq"] + 1
    assert execute["status"] is None  # no result recorded
    assert execute["result_seq"] is None


async def test_v_llm_calls(log: SQLiteSessionLog) -> None:
    sid, run1, _ = await record(log)
    calls = rows(log, "SELECT * FROM v_llm_calls WHERE session_id = ? ORDER BY seq", sid)
    assert [c["call_id"] for c in calls] == ["llm_1", "llm_2"]
    ok, failed = calls
    assert ok["run_id"] == run1
    assert (ok["provider"], ok["model"], ok["stop_reason"], ok["error"]) == (
        "openai",
        "gpt-x-2026",
        "tool_use",
        None,
    )
    assert (ok["input_tokens"], ok["output_tokens"], ok["cached_tokens"]) == (100, 20, 10)
    assert ok["cost_usd"] == pytest.approx(0.001)
    assert ok["latency_ms"] == 250.0
    assert (failed["model"], failed["error"], failed["input_tokens"]) == ("gpt-x", "timeout", None)
    assert len(rows(log, "SELECT * FROM v_llm_calls")) == 2  # the foreign response joined nothing


async def test_result_join_uses_the_expression_index(log: SQLiteSessionLog) -> None:
    plan = " ".join(
        str(r[-1]) for r in log.db.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM v_tool_calls")
    )
    assert "events_tool_result_call" in plan
    plan = " ".join(
        str(r[-1]) for r in log.db.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM v_llm_calls")
    )
    assert "events_llm_response_call" in plan
