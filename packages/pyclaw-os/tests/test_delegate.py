"""The ``delegate`` tool with an in-test ``Delegator``: aggregation shown to the model, the
whole result as an artifact, redaction before anything leaves, policy metadata and settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyclaw_os_fakes import MemoryArtifacts, World

from pyclaw.meta import (
    AggregationPolicy,
    DelegateResult,
    Delegator,
    ProviderError,
    ReplicaAnswer,
    RiskLevel,
    ToolCall,
    ToolContext,
)
from pyclaw.os import (
    DelegateTool,
    LocalToolHost,
    ToolEnv,
    ToolLoadError,
    available_builtin_tools,
    builtin_tool_names,
    builtin_tools,
)

SECRET = "sk-live-abcdefghijklmnop"


class FakeDelegator:
    """Three replicas; two say ``42``, one ``41`` (or raises ``error`` when set)."""

    name = "router"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    async def delegate(
        self,
        objective: str,
        *,
        input: str = "",
        replicas: int = 1,
        policy: AggregationPolicy = "majority",
    ) -> DelegateResult:
        self.calls.append(
            {"objective": objective, "input": input, "replicas": replicas, "policy": policy}
        )
        if self.error is not None:
            raise self.error
        texts = ["42", "42", "41"][:replicas]
        return DelegateResult(
            provider=self.name,
            answer="42",
            policy=policy,
            replicas_requested=replicas,
            replicas=tuple(
                ReplicaAnswer(index=i, text=t, session_id=str(201 + i), agrees=t == "42")
                for i, t in enumerate(texts)
            ),
            agreeing=texts.count("42"),
            agreement=texts.count("42") / len(texts),
            consensus=texts.count("42") * 2 > len(texts),
            disagreement=len(set(texts)) > 1,
            task_id="dlg-7",
            raw={"task_id": "dlg-7", "replicas": texts},
        )


class Masker:
    def redact(self, text: str) -> str:
        return text.replace(SECRET, "[redacted]")


def make_host(world: World, delegator: Delegator | None, **settings: Any) -> LocalToolHost:
    env = ToolEnv(
        workspace=world.workspace,
        artifacts=MemoryArtifacts(),
        delegator=delegator,
        redactor=Masker(),
        settings={"delegate": settings} if settings else {},
    )
    return LocalToolHost(env, builtin_tools(env, ["delegate"]))


async def run(host: LocalToolHost, **arguments: Any) -> Any:
    context = ToolContext(session_id="ses_test", agent="main")
    return await host.execute(ToolCall(name="delegate", arguments=arguments), context)


async def test_delegate_returns_the_aggregate_and_stores_the_whole_result(world: World) -> None:
    delegator = FakeDelegator()
    host = make_host(world, delegator)
    result = await run(host, task=f"What is 6 x 7? key={SECRET}", input="numbers")
    assert result.status == "ok", result.content
    assert result.untrusted is True
    lines = result.content.splitlines()
    assert lines[0] == "Answer: 42"
    assert lines[1] == "Consensus: 2 of 3 replicas agree (67%, consensus; policy majority)"
    assert lines[2:5] == ["[1] * 42", "[2] * 42", "[3] 41"]
    metadata = json.loads(lines[5].removeprefix("metadata: "))
    assert metadata["agreeing"] == 2
    assert metadata["disagreement"] is True
    (ref,) = result.artifacts
    assert lines[6] == f"full router response: {ref.uri}"
    assert ref.media_type == "application/json"
    assert ref.name == "delegate-dlg-7.json"
    env_artifacts = host.env.artifacts
    assert env_artifacts is not None
    stored = json.loads(await env_artifacts.get(ref))
    assert stored["result"]["raw"] == {"task_id": "dlg-7", "replicas": ["42", "42", "41"]}
    assert stored["request"]["task"] == "What is 6 x 7? key=[redacted]"
    (sent,) = delegator.calls
    assert sent == {
        "objective": "What is 6 x 7? key=[redacted]",
        "input": "numbers",
        "replicas": 3,
        "policy": "majority",
    }


async def test_settings_choose_defaults_and_cap_replicas(world: World) -> None:
    delegator = FakeDelegator()
    host = make_host(world, delegator, replicas=1, max_replicas=3, policy="first")
    ok = await run(host, task="t")
    assert ok.status == "ok"
    assert delegator.calls[-1]["replicas"] == 1
    assert delegator.calls[-1]["policy"] == "first"
    too_many = await run(host, task="t", replicas=5)
    assert too_many.status == "error"
    assert "replicas must be at most 3 (tools.delegate.max_replicas)" in too_many.content
    bad_policy = await run(host, task="t", policy="loudest")
    assert bad_policy.status == "error"
    assert "policy" in bad_policy.content


async def test_a_router_failure_is_a_tool_error_the_model_sees(world: World) -> None:
    delegator = FakeDelegator(ProviderError("router: HTTP 401 unauthorized: Invalid API key"))
    result = await run(make_host(world, delegator), task="t")
    assert result.status == "error"
    assert "delegate failed: router: HTTP 401 unauthorized: Invalid API key" in result.content


def test_delegate_is_risky_and_needs_a_delegator(world: World) -> None:
    assert DelegateTool().spec().risk is RiskLevel.RISKY
    assert "delegate" in builtin_tool_names()
    bare = ToolEnv(workspace=world.workspace)
    with pytest.raises(ToolLoadError, match="no Cortensor router is configured"):
        builtin_tools(bare, ["delegate"])
    everything, missing = available_builtin_tools(bare)
    assert "delegate" not in [t.name for t in everything]
    assert "delegate" not in missing
    with_router = ToolEnv(workspace=world.workspace, delegator=FakeDelegator())
    assert "delegate" in [t.name for t in builtin_tools(with_router)]
