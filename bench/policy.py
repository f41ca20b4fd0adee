"""Policy check overhead per tool call with 1,000 grants stored (``SQLitePolicyEngine.check``).

A file database in a temporary directory (WAL, as a home's ``pyclaw.db``), a policy config with a
few rules (a deny, an ask and allow rules with argument regexes, as a real ``[policy]`` table would
have) and 1,000 grants added through ``add_grant``: a seeded mix of window, session, forever and
allow-once grants, some narrowed by an argument pattern, over 20 agents, 40 tools and 50 sessions.
Then ``check`` is timed, call after call, for:

- a call that matches **no grant** (it falls through to the rules and the default for its risk);
- a call that matches a **session grant** (the common "allow for this session" case).

Every timed call asserts its verdict and, for the grant case, the grant that allowed it. A check
reads SQLite's ``PRAGMA data_version`` inline to notice other processes' grant changes, so the
file database matters. Target (issue 5): p50 < 200 µs.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench._common import Row, atime_ms, p50, p90, row
from pyclaw.meta import (
    Grant,
    GrantScope,
    RiskLevel,
    ToolCall,
    ToolContext,
    ToolSpec,
    Verdict,
    utcnow,
)
from pyclaw.policy import PolicyConfig, PolicyRule, SQLitePolicyEngine, encode_argument_pattern
from pyclaw.storage import Database

GRANTS = 1_000
TARGET_US = 200.0
AGENTS = [f"agent{i}" for i in range(20)]
TOOLS = [f"tool{i}" for i in range(40)]
SESSIONS = [f"ses_{i:04d}" for i in range(50)]

RULES = PolicyConfig(
    rules=[
        PolicyRule(verdict=Verdict.DENY, tool="exec", args={"command": r".*rm -rf.*"}),
        PolicyRule(
            verdict=Verdict.ASK, tool="http_fetch", args={"url": r"https?://[^/]*\.onion/.*"}
        ),
        PolicyRule(
            verdict=Verdict.ALLOW, tool="exec", args={"command": r"^git (status|log|diff)$"}
        ),
        PolicyRule(verdict=Verdict.ALLOW, tool="read_*", agent="agent1*"),
    ]
)


def make_grants(rng: random.Random, session_grant: Grant, count: int = GRANTS) -> list[Grant]:
    now = utcnow()
    grants = [session_grant]
    while len(grants) < count:
        scope = rng.choice(list(GrantScope))
        agent, tool, session = rng.choice(AGENTS), rng.choice(TOOLS), rng.choice(SESSIONS)
        pattern = None
        if scope is not GrantScope.ONCE and rng.random() < 0.3:
            pattern = encode_argument_pattern({"path": rf"notes/{rng.randint(0, 99)}/.*"})
        grants.append(
            Grant(
                agent=agent,
                tool=tool,
                scope=scope,
                session_id=session if scope in (GrantScope.SESSION, GrantScope.ONCE) else None,
                call_hash=f"{rng.getrandbits(128):032x}" if scope is GrantScope.ONCE else None,
                argument_pattern=pattern,
                expires_at=now + timedelta(hours=1)
                if scope in (GrantScope.WINDOW, GrantScope.ONCE)
                else None,
            )
        )
    return grants


def crowded_grants(count: int = GRANTS) -> list[Grant]:
    """The worst case for one call: 1,000 grants for the very agent, tool and session checked,
    each narrowed by an argument pattern the call does not match."""
    return [
        Grant(
            agent="agent7",
            tool="write_notes",
            scope=GrantScope.SESSION if i % 2 else GrantScope.FOREVER,
            session_id="ses_bench" if i % 2 else None,
            argument_pattern=encode_argument_pattern({"path": rf"archive/{i}/.*"}),
        )
        for i in range(count)
    ]


async def crowded(directory: Path, calls: int, grants: int = GRANTS) -> list[float]:
    """``check`` latencies (ms) of a call that every grant's pattern must be tried against."""
    db = Database.open(directory / "crowded.db")
    engine = SQLitePolicyEngine(db, RULES)
    try:
        for grant in crowded_grants(grants):
            await engine.add_grant(grant)
        spec = ToolSpec(name="write_notes", description="Write a note.", risk=RiskLevel.RISKY)
        context = ToolContext(session_id="ses_bench", agent="agent7")
        call = ToolCall(name="write_notes", arguments={"path": "notes/today.md", "text": "hi"})

        async def check() -> None:
            decision = await engine.check(call, spec, context)
            if decision.verdict is not Verdict.ASK:
                raise RuntimeError(f"expected the default ask, got: {decision}")

        return await atime_ms(check, calls, warmup=50)
    finally:
        engine.close()
        db.close()


async def measure(directory: Path, calls: int, grants: int = GRANTS) -> list[Row]:
    db = Database.open(directory / "policy.db")
    engine = SQLitePolicyEngine(db, RULES)
    try:
        granted = Grant(
            agent="agent7", tool="write_notes", scope=GrantScope.SESSION, session_id="ses_bench"
        )
        for grant in make_grants(random.Random(5), granted, grants):
            await engine.add_grant(grant)
        stored = len(await engine.list_grants())
        spec = ToolSpec(name="write_notes", description="Write a note.", risk=RiskLevel.RISKY)
        context = ToolContext(session_id="ses_bench", agent="agent7")
        call = ToolCall(name="write_notes", arguments={"path": "notes/today.md", "text": "hi"})
        other = ToolCall(name="tool3", arguments={"path": "elsewhere/x.txt"})
        other_spec = ToolSpec(name="tool3", description="A tool.", risk=RiskLevel.MODERATE)
        other_context = ToolContext(session_id="ses_none", agent="agent3")

        async def check_granted() -> None:
            decision = await engine.check(call, spec, context)
            if decision.verdict is not Verdict.ALLOW or decision.grant_id != granted.id:
                raise RuntimeError(f"the session grant did not allow the call: {decision}")

        async def check_ungranted() -> None:
            decision = await engine.check(other, other_spec, other_context)
            if decision.verdict is not Verdict.ALLOW or decision.grant_id is not None:
                raise RuntimeError(f"expected the default allow, got: {decision}")

        none = await atime_ms(check_ungranted, calls, warmup=200)
        hit = await atime_ms(check_granted, calls, warmup=200)
    finally:
        engine.close()
        db.close()
    worst = await crowded(directory, max(calls // 10, 10), grants)
    detail = f"{calls} checks; {stored} live grants in a file database, {len(RULES.rules)} rules"
    return [
        row("check p50, no grant matches", p50(none) * 1000, "us", below=TARGET_US, detail=detail),
        row("check p90, no grant matches", p90(none) * 1000, "us", detail=detail),
        row(
            "check p50, a session grant matches",
            p50(hit) * 1000,
            "us",
            below=TARGET_US,
            detail=detail,
        ),
        row("check p90, a session grant matches", p90(hit) * 1000, "us", detail=detail),
        row(
            "check p50, worst case: 1,000 grants on the same tool, none matching",
            p50(worst) * 1000,
            "us",
            detail=f"{len(worst)} checks; every grant narrowed by a path pattern",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    """``SQLitePolicyEngine.check`` latency with 1,000 grants stored."""
    with tempfile.TemporaryDirectory(prefix="pyclaw-bench-policy-") as tmp:
        return asyncio.run(measure(Path(tmp), 2_000 if quick else 20_000))


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<40} {result['value']:>9} {result['unit']:<4} {result['detail']}")
