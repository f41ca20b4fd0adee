"""memory_add and memory_search against an in-test MemoryStore fake."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pyclaw_os_fakes import FakeMemory, World

from pyclaw.meta import RiskLevel, ToolCall, ToolContext, utcnow
from pyclaw.os import LocalToolHost, ToolEnv, ToolLoadError, builtin_tools


async def test_memory_add_records_provenance(call: Any, memory: FakeMemory) -> None:
    result = await call("memory_add", text="The user's cat is called Miso", kind="fact")
    assert result.status == "ok"
    (item,) = memory.items.values()
    assert result.content == f"remembered fact {item.id}"
    assert item.agent == "main"
    assert item.kind == "fact"
    assert item.source == "session:ses_test"
    assert item.session_id == "ses_test"
    assert item.expires_at is None


async def test_memory_add_with_ttl(call: Any, memory: FakeMemory) -> None:
    result = await call("memory_add", text="Parcel arrives Tuesday", kind="note", ttl_days=2)
    (item,) = memory.items.values()
    assert item.expires_at is not None
    assert abs(item.expires_at - (utcnow() + timedelta(days=2))) < timedelta(seconds=10)
    assert f"expires {item.expires_at:%Y-%m-%d}" in result.content


async def test_memory_add_validates(call: Any, memory: FakeMemory) -> None:
    bad_kind = await call("memory_add", text="x", kind="secret")
    assert bad_kind.status == "error"
    assert "kind: Input should be 'fact', 'note' or 'procedure'" in bad_kind.content
    bad_ttl = await call("memory_add", text="x", ttl_days=0)
    assert bad_ttl.status == "error"
    assert "ttl_days" in bad_ttl.content
    assert memory.items == {}


async def test_memory_search(call: Any) -> None:
    await call("memory_add", text="The user's cat is called Miso")
    await call("memory_add", text="Deploy with make release", kind="procedure")
    await call("memory_add", text="The user likes green tea")
    result = await call("memory_search", query="user cat")
    lines = result.content.splitlines()
    assert lines[0].startswith("- [fact] The user's cat is called Miso (mem_")
    assert "score 2.00, source session:ses_test" in lines[0]
    assert len(lines) == 2
    only = await call("memory_search", query="user make", kinds=["procedure"], limit=1)
    assert only.content.startswith("- [procedure] Deploy with make release")
    none = await call("memory_search", query="quantum")
    assert none.content == "[no memories match 'quantum']"


async def test_memory_is_per_agent(host: LocalToolHost, memory: FakeMemory) -> None:
    ctx_a = ToolContext(session_id="s1", agent="alice")
    ctx_b = ToolContext(session_id="s2", agent="bob")
    await host.execute(ToolCall(name="memory_add", arguments={"text": "alice only"}), ctx_a)
    found = await host.execute(ToolCall(name="memory_search", arguments={"query": "alice"}), ctx_b)
    assert found.content.startswith("[no memories match")


def test_memory_tools_need_a_store(world: World) -> None:
    env = ToolEnv(workspace=world.workspace)
    names = [t.name for t in builtin_tools(env)]
    assert "memory_add" not in names
    assert "memory_search" not in names
    with pytest.raises(ToolLoadError, match="memory_add tool needs a memory store"):
        builtin_tools(env, ["read_file", "memory_add"])


async def test_memory_tool_without_store_at_run_time(world: World) -> None:
    env = ToolEnv(workspace=world.workspace, memory=FakeMemory())
    tools = builtin_tools(env, ["memory_search"])
    host = LocalToolHost(ToolEnv(workspace=world.workspace), tools)
    result = await host.execute(
        ToolCall(name="memory_search", arguments={"query": "x"}),
        ToolContext(session_id="s", agent="a"),
    )
    assert result.status == "error"
    assert result.content == "no memory store is configured for this agent"


def test_memory_risk(env: ToolEnv) -> None:
    risks = {t.name: t.risk for t in builtin_tools(env, ["memory_add", "memory_search"])}
    assert risks == {"memory_add": RiskLevel.MODERATE, "memory_search": RiskLevel.SAFE}
