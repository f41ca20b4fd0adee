"""The whole agent stack, as the runtime wires it, against a scripted model on 127.0.0.1.

The model is ``FakeOpenAIServer`` reached through an ``openai-compatible`` provider, so requests
and tool calls cross the real Chat Completions wire format; tools, policy, approvals, guards,
context and the SQLite session log are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GrantScope,
    RunStatus,
    ToolCall,
    ToolResultEvent,
    Verdict,
)
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._home import PyClawHome

Present = Callable[[ApprovalRequest], Awaitable[None]]


def config_for(server: FakeOpenAIServer, extra: str = "") -> PyClawConfig:
    return parse_config(
        f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{server.base_url}"\n'
        'model = "scripted"\n'
        '[agents.main]\nprovider = "fake"\nmax_steps = 12\n'
        f"{extra}"
    )


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(name=name, arguments=json.loads(json.dumps(arguments)))


@asynccontextmanager
async def runtime(
    config: PyClawConfig, present: Present | None = None
) -> AsyncIterator[AgentRuntime]:
    home = PyClawHome.from_env()
    home.ensure_layout()
    async with AgentRuntime.open(home, config, present=present) as rt:
        yield rt


async def kinds_of(rt: AgentRuntime, session_id: str) -> list[str]:
    return [e.kind for e in await rt.services.sessions.read(session_id)]


async def tool_results(rt: AgentRuntime, session_id: str) -> list[ToolResultEvent]:
    return [
        e.payload
        for e in await rt.services.sessions.read(session_id)
        if isinstance(e.payload, ToolResultEvent)
    ]


def approver(
    holder: list[AgentRuntime],
    asked: list[ApprovalRequest],
    verdict: Verdict = Verdict.ALLOW,
    scope: GrantScope = GrantScope.ONCE,
) -> Present:
    """A human at the terminal who answers every request the same way."""

    async def present(request: ApprovalRequest) -> None:
        asked.append(request)
        await holder[0].approvals.resolve(
            request.id,
            ApprovalDecision(
                request_id=request.id,
                call_hash=request.call_hash,
                verdict=verdict,
                scope=scope,
                decided_by="test",
            ),
        )

    return present


async def test_multi_step_tool_use_reads_edits_runs_and_answers() -> None:
    holder: list[AgentRuntime] = []
    asked: list[ApprovalRequest] = []
    script = [
        FakeReply(tool_calls=[call("read_file", path="notes.txt")]),
        FakeReply(
            tool_calls=[call("edit_file", path="notes.txt", old_text="red", new_text="blue")]
        ),
        FakeReply(tool_calls=[call("exec", command="cat notes.txt")]),
        FakeReply(text="Done: the color is now blue."),
    ]
    rules = (
        '[[policy.rules]]\nverdict = "allow"\ntool = "exec"\nargs = { command = "cat [a-z.]+" }\n'
    )
    with FakeOpenAIServer(script) as server:
        async with runtime(config_for(server, rules), present=approver(holder, asked)) as rt:
            holder.append(rt)
            (rt.home.workspace_dir / "notes.txt").write_text("color = red\n")
            session, result = await rt.run_turn("Make the color blue and show me.", agent="main")
            assert result.status is RunStatus.SUCCEEDED, result.error
            assert result.answer is not None
            assert result.answer.text == "Done: the color is now blue."
            assert result.steps == 4
            assert (rt.home.workspace_dir / "notes.txt").read_text() == "color = blue\n"
            results = await tool_results(rt, session.id)
            assert [(r.result.name, r.result.status) for r in results] == [
                ("read_file", "ok"),
                ("edit_file", "ok"),
                ("exec", "ok"),
            ]
            assert "color = blue" in results[2].result.content
            kinds = await kinds_of(rt, session.id)
            assert kinds[:2] == ["run_started", "user_message"]
            assert kinds[-1] == "run_finished"
            assert kinds.count("llm_request") == kinds.count("llm_response") == 4
            # exec is allow-listed, but the file it follows was untrusted content: a fresh
            # approval was asked for that exact call (and the re-check after it is recorded too)
            assert [r.call.name for r in asked] == ["exec"]
            assert "untrusted" in asked[0].reason
            assert kinds.count("policy_decision") == 4
            report = await rt.services.sessions.verify(session.id)
            assert report.ok, report.problems
    # the model saw each tool's result on the wire, paired with its call
    last = server.requests[-1].body
    tool_messages = [m for m in last["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 3
    assert "color = blue" in tool_messages[2]["content"]


async def test_repeating_a_failing_call_is_stopped_by_loop_detection() -> None:
    failing = [FakeReply(tool_calls=[call("read_file", path="missing.txt")]) for _ in range(6)]
    with FakeOpenAIServer(failing) as server:
        async with runtime(config_for(server)) as rt:
            session, result = await rt.run_turn("Read missing.txt", agent="main")
            assert result.status is RunStatus.FAILED
            assert result.error is not None
            assert result.error.type == "LoopDetected"
            assert result.answer is not None
            assert "read_file" in result.answer.text
            results = await tool_results(rt, session.id)
            assert len(results) == 3
            assert all(r.result.status == "error" for r in results)
    assert server.remaining == 3  # the model was not asked again after the third failure


async def test_malformed_tool_arguments_go_back_to_the_model_and_the_turn_recovers() -> None:
    broken = ToolCall(name="read_file", raw_arguments='{"path": "notes.txt"')
    script = [
        FakeReply(tool_calls=[broken]),
        FakeReply(tool_calls=[call("read_file", path="notes.txt")]),
        FakeReply(text="It says hello."),
    ]
    with FakeOpenAIServer(script) as server:
        async with runtime(config_for(server)) as rt:
            (rt.home.workspace_dir / "notes.txt").write_text("hello\n")
            session, result = await rt.run_turn("What does notes.txt say?", agent="main")
            assert result.status is RunStatus.SUCCEEDED
            first, second = await tool_results(rt, session.id)
            assert first.result.status == "error"
            assert second.result.status == "ok"


async def test_risky_call_waits_for_approval_and_once_means_once() -> None:
    asked: list[ApprovalRequest] = []
    holder: list[AgentRuntime] = []
    approve_once = approver(holder, asked)

    script = [
        FakeReply(tool_calls=[call("exec", command="echo one")]),
        FakeReply(tool_calls=[call("exec", command="echo one")]),
        FakeReply(text="ran it twice"),
    ]
    with FakeOpenAIServer(script) as server:
        async with runtime(config_for(server), present=approve_once) as rt:
            holder.append(rt)
            session, result = await rt.run_turn("echo one, twice", agent="main")
            assert result.status is RunStatus.SUCCEEDED
            # the same call again needed a second approval: the first grant was used up
            assert len(asked) == 2
            assert all(r.call.name == "exec" for r in asked)
            results = await tool_results(rt, session.id)
            assert [r.result.status for r in results] == ["ok", "ok"]
            grants = await rt.policy.list_grants(include_inactive=True)
            assert [g.scope for g in grants] == [GrantScope.ONCE, GrantScope.ONCE]
            assert await rt.policy.list_grants() == []


async def test_a_denied_approval_tells_the_model_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    holder: list[AgentRuntime] = []
    deny = approver(holder, [], Verdict.DENY)

    script = [
        FakeReply(tool_calls=[call("exec", command=f"touch {marker}")]),
        FakeReply(text="Understood, I did not run it."),
    ]
    with FakeOpenAIServer(script) as server:
        async with runtime(config_for(server), present=deny) as rt:
            holder.append(rt)
            session, result = await rt.run_turn("touch the file", agent="main")
            assert result.status is RunStatus.SUCCEEDED
            (denied,) = await tool_results(rt, session.id)
            assert denied.result.status == "denied"
    assert not marker.exists()
    sent = server.requests[1].body["messages"]
    assert any(m["role"] == "tool" and "not approved" in m["content"] for m in sent)


@pytest.mark.parametrize("turns", [3])
async def test_turns_of_one_session_share_history(turns: int) -> None:
    script = [FakeReply(text=f"answer {i}") for i in range(turns)]
    with FakeOpenAIServer(script) as server:
        async with runtime(config_for(server)) as rt:
            session_id: str | None = None
            for i in range(turns):
                session, result = await rt.run_turn(
                    f"question {i}", agent="main", session_id=session_id
                )
                session_id = session.id
                assert result.answer is not None
                assert result.answer.text == f"answer {i}"
    last = server.requests[-1].body["messages"]
    texts = [m["content"] for m in last if m["role"] in ("user", "assistant")]
    assert texts[-5:] == ["question 0", "answer 0", "question 1", "answer 1", "question 2"]
