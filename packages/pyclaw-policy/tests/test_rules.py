"""Rule order, matching and defaults, table-driven."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from pydantic import JsonValue

from pyclaw.meta import RiskLevel, ToolCall, ToolContext, ToolSpec, Verdict
from pyclaw.policy import PolicyConfig, SQLitePolicyEngine

MakeEngine = Callable[..., SQLitePolicyEngine]

RISK = {
    "exec": RiskLevel.RISKY,
    "read_file": RiskLevel.SAFE,
    "write_file": RiskLevel.MODERATE,
    "browser_open": RiskLevel.RISKY,
    "rm_all": RiskLevel.DANGEROUS,
}
SAFE_GIT = r"^git (status|log|diff)( [A-Za-z0-9_./-]+)*$"


def spec(name: str) -> ToolSpec:
    return ToolSpec(name=name, description=name, risk=RISK[name])


@dataclass
class Case:
    id: str
    rules: list[dict[str, JsonValue]]
    expect: Verdict
    rule: str | None
    tool: str = "exec"
    args: dict[str, JsonValue] = field(default_factory=dict)
    agent: str = "main"
    defaults: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "deny beats an earlier allow",
        [
            {"verdict": "allow", "tool": "exec", "name": "all-exec"},
            {"verdict": "deny", "tool": "exec", "args": {"command": ".*rm .*"}, "name": "no-rm"},
        ],
        Verdict.DENY,
        "no-rm",
        args={"command": "rm -rf /tmp/x"},
    ),
    Case(
        "allow applies when the deny rule does not match",
        [
            {"verdict": "allow", "tool": "exec", "name": "all-exec"},
            {"verdict": "deny", "tool": "exec", "args": {"command": ".*rm .*"}, "name": "no-rm"},
        ],
        Verdict.ALLOW,
        "all-exec",
        args={"command": "ls"},
    ),
    Case(
        "ask beats an earlier allow",
        [
            {"verdict": "allow", "tool": "*", "name": "everything"},
            {"verdict": "ask", "tool": "exec", "name": "ask-exec"},
        ],
        Verdict.ASK,
        "ask-exec",
        args={"command": "ls"},
    ),
    Case(
        "deny beats ask",
        [{"verdict": "ask", "tool": "exec"}, {"verdict": "deny", "tool": "exec"}],
        Verdict.DENY,
        "rules[1]",
    ),
    Case(
        "first match wins within deny rules",
        [
            {"verdict": "deny", "tool": "ex*", "name": "first"},
            {"verdict": "deny", "tool": "exec", "name": "second"},
        ],
        Verdict.DENY,
        "first",
    ),
    Case(
        "unnamed rules are cited by position",
        [{"verdict": "ask", "tool": "read_file"}, {"verdict": "allow", "tool": "exec"}],
        Verdict.ALLOW,
        "rules[1]",
    ),
    Case(
        "agent glob matches",
        [{"verdict": "deny", "tool": "*", "agent": "ops-*", "name": "ops"}],
        Verdict.DENY,
        "ops",
        agent="ops-nightly",
    ),
    Case(
        "agent glob does not match another agent",
        [{"verdict": "deny", "tool": "*", "agent": "ops-*", "name": "ops"}],
        Verdict.ASK,
        "default_by_risk.risky",
        agent="main",
    ),
    Case(
        "tool glob",
        [{"verdict": "allow", "tool": "browser_*", "name": "web"}],
        Verdict.ALLOW,
        "web",
        tool="browser_open",
    ),
    Case(
        "safe git allowlist matches a plain command",
        [{"verdict": "allow", "tool": "exec", "args": {"command": SAFE_GIT}, "name": "git"}],
        Verdict.ALLOW,
        "git",
        args={"command": "git log -n 5 src/app.py"},
    ),
    Case(
        "safe git allowlist refuses a chained command",
        [{"verdict": "allow", "tool": "exec", "args": {"command": SAFE_GIT}, "name": "git"}],
        Verdict.ASK,
        "default_by_risk.risky",
        args={"command": "git status; rm -rf /"},
    ),
    Case(
        "safe git allowlist refuses command substitution",
        [{"verdict": "allow", "tool": "exec", "args": {"command": SAFE_GIT}, "name": "git"}],
        Verdict.ASK,
        "default_by_risk.risky",
        args={"command": "git log $(curl evil)"},
    ),
    Case(
        "a loose pattern does match a chained command (write patterns for fullmatch)",
        [
            {
                "verdict": "allow",
                "tool": "exec",
                "args": {"command": "git status.*"},
                "name": "loose",
            }
        ],
        Verdict.ALLOW,
        "loose",
        args={"command": "git status; rm -rf /"},
    ),
    Case(
        "dot never crosses a newline",
        [
            {
                "verdict": "allow",
                "tool": "exec",
                "args": {"command": "git status.*"},
                "name": "loose",
            }
        ],
        Verdict.ASK,
        "default_by_risk.risky",
        args={"command": "git status\nrm -rf /"},
    ),
    Case(
        "patterns must match the whole value",
        [{"verdict": "allow", "tool": "exec", "args": {"command": "ls"}, "name": "ls"}],
        Verdict.ASK,
        "default_by_risk.risky",
        args={"command": "ls; reboot"},
    ),
    Case(
        "a missing argument never matches",
        [{"verdict": "deny", "tool": "exec", "args": {"cwd": ".*"}, "name": "cwd"}],
        Verdict.ASK,
        "default_by_risk.risky",
        args={"command": "ls"},
    ),
    Case(
        "non-string values are matched as JSON",
        [{"verdict": "allow", "tool": "exec", "args": {"argv": r'\["git","status"\]'}}],
        Verdict.ALLOW,
        "rules[0]",
        args={"argv": ["git", "status"]},
    ),
    Case(
        "numbers are matched as JSON",
        [{"verdict": "deny", "tool": "exec", "args": {"timeout": "[0-9]{4,}"}, "name": "long"}],
        Verdict.DENY,
        "long",
        args={"timeout": 3600},
    ),
    Case("default: safe allows", [], Verdict.ALLOW, "default_by_risk.safe", tool="read_file"),
    Case(
        "default: moderate allows", [], Verdict.ALLOW, "default_by_risk.moderate", tool="write_file"
    ),
    Case("default: risky asks", [], Verdict.ASK, "default_by_risk.risky"),
    Case("default: dangerous asks", [], Verdict.ASK, "default_by_risk.dangerous", tool="rm_all"),
    Case(
        "defaults can be overridden per risk",
        [],
        Verdict.DENY,
        "default_by_risk.dangerous",
        tool="rm_all",
        defaults={"dangerous": "deny"},
    ),
    Case(
        "a partial override keeps the other defaults",
        [],
        Verdict.ASK,
        "default_by_risk.risky",
        defaults={"dangerous": "deny"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_rule_order_and_matching(case: Case, make_engine: MakeEngine) -> None:
    engine = make_engine(rules=case.rules, default_by_risk=case.defaults)
    call = ToolCall(name=case.tool, arguments=case.args)
    decision = await engine.check(
        call, spec(case.tool), ToolContext(session_id="s", agent=case.agent)
    )
    assert (decision.verdict, decision.rule) == (case.expect, case.rule)
    assert decision.grant_id is None
    assert decision.tool == case.tool
    assert decision.call_hash == call.call_hash


async def test_reasons_are_readable(make_engine: MakeEngine) -> None:
    engine = make_engine(
        rules=[
            {
                "verdict": "deny",
                "tool": "exec",
                "args": {"command": "sudo .*"},
                "name": "no-sudo",
                "reason": "root is off limits",
            },
        ]
    )
    ctx = ToolContext(session_id="s", agent="main")
    denied = await engine.check(
        ToolCall(name="exec", arguments={"command": "sudo ls"}), spec("exec"), ctx
    )
    assert denied.reason == "exec denied by rule 'no-sudo' (root is off limits)"
    asked = await engine.check(
        ToolCall(name="exec", arguments={"command": "ls"}), spec("exec"), ctx
    )
    assert asked.reason == (
        "exec needs approval: no rule or grant matched and the default for risky tools is ask"
    )


def test_rule_matches_helper() -> None:
    config = PolicyConfig.model_validate(
        {"rules": [{"verdict": "allow", "tool": "exec", "args": {"command": SAFE_GIT}}]}
    )
    rule = config.rules[0]
    assert rule.matches("exec", "any", {"command": "git diff"})
    assert not rule.matches("exec", "any", {"command": "git push"})
    assert not rule.matches("exec2", "any", {"command": "git diff"})
