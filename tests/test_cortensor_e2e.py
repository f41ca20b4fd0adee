"""Cortensor end to end: ``pyclaw chat -m`` and ``pyclaw doctor`` as users run them against a
fake router on 127.0.0.1, and the ``delegate`` tool called by an agent whose own model is an
OpenAI-compatible fake, with the approval, the tool result and the artifact on the audit trail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from collections.abc import Awaitable, Callable
from pathlib import Path

from pyclaw.llm.testing import FakeCortensorRouter, FakeOpenAIServer, FakeReply, FakeValidation
from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GrantScope,
    NoteEvent,
    RunStatus,
    ToolCall,
    ToolResultEvent,
    Verdict,
)
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._home import PyClawHome

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"
KEY = "cortensor-test-key-7f3a9c"


def pyclaw(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYCLAW), *args],
        env={**os.environ, "PYCLAW_HOME": str(home), "CORTENSOR_KEY": KEY},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def router_toml(router: FakeCortensorRouter, name: str = "router") -> str:
    return (
        f'[providers.{name}]\nkind = "cortensor"\nbase_url = "{router.base_url}"\n'
        'api_key_env = "CORTENSOR_KEY"\nsession_id = 12\n'
    )


def test_chat_answers_through_a_cortensor_router(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with FakeCortensorRouter(["6 x 7 = 42.<|im_end|>"], api_key=KEY) as router:
        (home / "pyclaw.toml").write_text(
            router_toml(router) + '[agents.main]\nprovider = "router"\ntools = []\n'
            'system_prompt = "Answer briefly."\n'
        )
        done = pyclaw(home, "chat", "-m", "What is 6 x 7?", "--local", "--json")
        assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answer"] == "6 x 7 = 42."
    assert data["status"] == "succeeded"
    (sent,) = router.requests
    assert sent.path == "/api/v1/completions/12"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    prompt = sent.body["prompt"]
    assert prompt.startswith("<|im_start|>system\nAnswer briefly.")
    assert "<|im_start|>user\nWhat is 6 x 7?<|im_end|>\n<|im_start|>assistant\n" in prompt


def test_chat_reports_a_rejected_key_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with FakeCortensorRouter(api_key="another-key") as router:
        (home / "pyclaw.toml").write_text(
            router_toml(router) + '[agents.main]\nprovider = "router"\ntools = []\n'
        )
        done = pyclaw(home, "chat", "-m", "hi", "--local")
    assert done.returncode == 1
    assert "router: HTTP 401 unauthorized: Invalid API key" in done.stderr
    assert KEY not in done.stderr


def test_doctor_asks_the_router(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert pyclaw(home, "init").returncode == 0
    with FakeCortensorRouter(api_key=KEY) as router:
        (home / "pyclaw.toml").write_text(
            router_toml(router) + '[agents.main]\nprovider = "router"\ntools = ["delegate"]\n'
        )
        healthy = pyclaw(home, "doctor")
        url = router.base_url
        paths = [(r.method, r.path) for r in router.requests]
    assert healthy.returncode == 0, healthy.stdout
    line = next(x for x in healthy.stdout.splitlines() if "provider router" in x)
    assert line == (
        f"ok    provider router: cortensor router {url} (session 12): name fake-router, "
        "version fake-1.0, active sessions 2, total sessions 5; connected miners 4, "
        "active sessions 2, uptime 3600"
    )
    assert paths == [("GET", "/api/v1/info"), ("GET", "/api/v1/status")]
    tools = next(x for x in healthy.stdout.splitlines() if x.split()[1:2] == ["tools:"])
    assert tools.startswith("ok"), healthy.stdout
    gone = pyclaw(home, "doctor")  # the router has stopped
    assert gone.returncode == 1
    line = next(x for x in gone.stdout.splitlines() if "provider router" in x)
    assert line.startswith(f"fail  provider router: cortensor router {url} (session 12): ")
    assert "connection failed" in line


Present = Callable[[ApprovalRequest], Awaitable[None]]


def approver(holder: list[AgentRuntime], asked: list[ApprovalRequest], verdict: Verdict) -> Present:
    """A human at the terminal who answers every request with ``verdict``."""

    async def present(request: ApprovalRequest) -> None:
        asked.append(request)
        await holder[0].approvals.resolve(
            request.id,
            ApprovalDecision(
                request_id=request.id,
                call_hash=request.call_hash,
                verdict=verdict,
                scope=GrantScope.ONCE,
                decided_by="test",
            ),
        )

    return present


def agent_config(model: FakeOpenAIServer, router: FakeCortensorRouter) -> PyClawConfig:
    return parse_config(
        f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
        'model = "scripted"\n'
        f'[providers.router]\nkind = "cortensor"\nbase_url = "{router.base_url}"\n'
        f'api_key = "{KEY}"\nsession_id = 12\n'
        '[agents.main]\nprovider = "fake"\ntools = ["delegate"]\n'
    )


async def test_agent_delegates_with_approval_and_records_consensus() -> None:
    asked: list[ApprovalRequest] = []
    holder: list[AgentRuntime] = []
    task = f"What is 6 x 7? Answer with the number only. (token {KEY})"
    script = [
        FakeReply(tool_calls=[ToolCall(name="delegate", arguments={"task": task, "replicas": 3})]),
        FakeReply(text="The network agrees: 42."),
    ]
    with FakeOpenAIServer(script) as model, FakeCortensorRouter(api_key=KEY) as router:
        router.add_delegation(["42", "42", "41"])
        home = PyClawHome.from_env()
        home.ensure_layout()
        present = approver(holder, asked, Verdict.ALLOW)
        async with AgentRuntime.open(home, agent_config(model, router), present=present) as rt:
            holder.append(rt)
            session, result = await rt.run_turn("Ask the network: 6 x 7?", agent="main")
            assert result.status is RunStatus.SUCCEEDED, result.error
            assert result.answer is not None
            assert result.answer.text == "The network agrees: 42."
            events = await rt.services.sessions.read(session.id)
            (recorded,) = [e.payload for e in events if isinstance(e.payload, ToolResultEvent)]
            (ref,) = recorded.result.artifacts
            stored = json.loads(await rt.services.artifacts.get(ref))
    assert [r.call.name for r in asked] == ["delegate"]
    outcome = recorded.result
    assert outcome.status == "ok", outcome.content
    assert outcome.untrusted is True
    assert "Answer: 42" in outcome.content
    assert "Consensus: 2 of 3 replicas agree (67%, consensus; policy majority)" in outcome.content
    assert '"agreeing":2' in outcome.content
    assert '"disagreement":true' in outcome.content
    assert stored["result"]["agreeing"] == 2
    assert [r["output"] for r in stored["result"]["raw"]["replicas"]] == ["42", "42", "41"]
    (sent,) = router.requests
    assert sent.path == "/api/v3/delegate"
    assert sent.body["consensus"]["replicas"] == 3
    assert KEY not in sent.body["objective"]  # redacted before it left the machine
    assert sent.body["objective"].startswith("What is 6 x 7? Answer with the number only.")
    followup = model.requests[1].body["messages"]
    tool_message = next(m for m in followup if m["role"] == "tool")
    assert "2 of 3 replicas agree" in tool_message["content"]


async def test_a_denied_delegation_never_reaches_the_router() -> None:
    asked: list[ApprovalRequest] = []
    holder: list[AgentRuntime] = []
    script = [
        FakeReply(tool_calls=[ToolCall(name="delegate", arguments={"task": "Summarize x"})]),
        FakeReply(text="I was not allowed to delegate."),
    ]
    with FakeOpenAIServer(script) as model, FakeCortensorRouter(api_key=KEY) as router:
        home = PyClawHome.from_env()
        home.ensure_layout()
        present = approver(holder, asked, Verdict.DENY)
        async with AgentRuntime.open(home, agent_config(model, router), present=present) as rt:
            holder.append(rt)
            session, result = await rt.run_turn("Delegate it.", agent="main")
            events = await rt.services.sessions.read(session.id)
    assert result.status is RunStatus.SUCCEEDED, result.error
    (recorded,) = [e.payload for e in events if isinstance(e.payload, ToolResultEvent)]
    assert recorded.result.status == "denied"
    assert len(asked) == 1
    assert router.requests == []


async def test_an_agent_with_verify_has_its_answer_judged_by_the_router() -> None:
    with FakeOpenAIServer(["Lyon.", "Paris."]) as model, FakeCortensorRouter(api_key=KEY) as router:
        router.add_validation(FakeValidation(verdict="INVALID", reasons=("It is Paris.",)))
        router.add_validation(FakeValidation(verdict="VALID"))
        config = parse_config(
            f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
            'model = "scripted"\n'
            f'[providers.router]\nkind = "cortensor"\nbase_url = "{router.base_url}"\n'
            f'api_key = "{KEY}"\nsession_id = 12\n'
            '[agents.main]\nprovider = "fake"\ntools = []\nverify = true\n'
        )
        home = PyClawHome.from_env()
        home.ensure_layout()
        async with AgentRuntime.open(home, config) as rt:
            session, wrong = await rt.run_turn("Capital of France?", agent="main")
            _, right = await rt.run_turn("Again?", agent="main", session_id=session.id)
            notes = [
                e.payload.text
                for e in await rt.services.sessions.read(session.id)
                if isinstance(e.payload, NoteEvent)
            ]
    assert wrong.answer is not None
    assert wrong.answer.text.startswith("Lyon.\n\n⚠ Not verified: ")
    assert "It is Paris." in wrong.answer.text
    assert right.answer is not None
    assert right.answer.text == "Paris."
    assert [n.split(" judged")[0] for n in notes] == ["verify: router", "verify: router"]
    assert [r.path for r in router.requests] == ["/api/v3/validate", "/api/v3/validate"]
    assert router.requests[0].body
