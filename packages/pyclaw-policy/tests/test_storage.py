"""Grants persist, and an engine sees changes another connection (process) made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyclaw.meta import (
    ApprovalDecision,
    Grant,
    GrantScope,
    RiskLevel,
    ToolCall,
    ToolContext,
    ToolSpec,
    Verdict,
)
from pyclaw.policy import POLICY_MIGRATIONS, SQLitePolicyEngine
from pyclaw.storage import Database

EXEC = ToolSpec(name="exec", description="run", risk=RiskLevel.RISKY)
CTX = ToolContext(session_id="ses_a", agent="main")
LS = ToolCall(name="exec", arguments={"command": "ls"})


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "pyclaw.db"


@pytest.fixture
def two(path: Path) -> Iterator[tuple[SQLitePolicyEngine, SQLitePolicyEngine]]:
    """Two engines on two connections to one file, as two processes would have."""
    with (
        Database.open(path, migrations=[POLICY_MIGRATIONS]) as db_a,
        Database.open(path, migrations=[POLICY_MIGRATIONS]) as db_b,
    ):
        a, b = SQLitePolicyEngine(db_a), SQLitePolicyEngine(db_b)
        yield a, b
        a.close()
        b.close()


async def test_grants_survive_a_restart(path: Path) -> None:
    with Database.open(path) as db:
        engine = SQLitePolicyEngine(db)
        asked = await engine.check(LS, EXEC, CTX)
        request = engine.make_request(LS, CTX, asked)
        decision = ApprovalDecision(
            request_id=request.id,
            call_hash=request.call_hash,
            verdict=Verdict.ALLOW,
            scope=GrantScope.FOREVER,
            decided_by="test",
        )
        grant = await engine.decide(request, decision)
        engine.close()
    with Database.open(path, migrations=[POLICY_MIGRATIONS]) as db:
        engine = SQLitePolicyEngine(db)
        assert await engine.list_grants() == [grant]
        decision = await engine.check(LS, EXEC, CTX)
        assert grant is not None
        assert (decision.verdict, decision.grant_id) == (Verdict.ALLOW, grant.id)
        engine.close()


async def test_another_connection_adds_and_revokes(
    two: tuple[SQLitePolicyEngine, SQLitePolicyEngine],
) -> None:
    daemon, cli = two
    assert (await daemon.check(LS, EXEC, CTX)).verdict is Verdict.ASK  # index loaded
    grant = await cli.add_grant(Grant(agent="main", tool="exec", scope=GrantScope.FOREVER))
    assert (await daemon.check(LS, EXEC, CTX)).grant_id == grant.id
    await cli.revoke(grant.id)
    assert (await daemon.check(LS, EXEC, CTX)).verdict is Verdict.ASK


async def test_own_writes_and_foreign_writes_interleave(
    two: tuple[SQLitePolicyEngine, SQLitePolicyEngine],
) -> None:
    daemon, cli = two
    await daemon.check(LS, EXEC, CTX)
    foreign = await cli.add_grant(Grant(agent="main", tool="browser", scope=GrantScope.FOREVER))
    own = await daemon.add_grant(Grant(agent="main", tool="exec", scope=GrantScope.FOREVER))
    browse = ToolCall(name="browser", arguments={})
    spec = ToolSpec(name="browser", description="b", risk=RiskLevel.RISKY)
    assert (await daemon.check(browse, spec, CTX)).grant_id == foreign.id
    assert (await daemon.check(LS, EXEC, CTX)).grant_id == own.id


async def test_an_allow_once_is_used_only_once_across_processes(
    two: tuple[SQLitePolicyEngine, SQLitePolicyEngine],
) -> None:
    a, b = two
    await a.check(LS, EXEC, CTX)
    await b.check(LS, EXEC, CTX)
    once = Grant(
        agent="main", tool="exec", scope=GrantScope.ONCE, session_id="ses_a", call_hash=LS.call_hash
    )
    await a.add_grant(once)
    first = await b.check(LS, EXEC, CTX)
    assert (first.verdict, first.grant_id) == (Verdict.ALLOW, once.id)
    assert (await a.check(LS, EXEC, CTX)).verdict is Verdict.ASK
    assert (await b.check(LS, EXEC, CTX)).verdict is Verdict.ASK


async def test_many_grants_are_indexed(two: tuple[SQLitePolicyEngine, SQLitePolicyEngine]) -> None:
    daemon, cli = two
    for i in range(300):
        await cli.add_grant(
            Grant(agent=f"agent{i % 7}", tool="exec", scope=GrantScope.SESSION, session_id=f"s{i}")
        )
    hit = await daemon.check(LS, EXEC, ToolContext(session_id="s299", agent="agent5"))
    assert hit.verdict is Verdict.ALLOW
    miss = await daemon.check(LS, EXEC, ToolContext(session_id="s299", agent="agent4"))
    assert miss.verdict is Verdict.ASK
