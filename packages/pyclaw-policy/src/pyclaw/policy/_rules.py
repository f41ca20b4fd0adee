"""``RuleSet``: a ``PolicyConfig``'s rules split by verdict, ready to evaluate."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

from pyclaw.meta import PolicyDecision, ToolCall, ToolSpec, Verdict
from pyclaw.policy._config import CompiledRule, PolicyConfig, PolicyRule

_WHAT = {Verdict.ALLOW: "allowed", Verdict.ASK: "needs approval", Verdict.DENY: "denied"}


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched, with the label decisions cite (its ``name`` or ``rules[i]``)."""

    label: str
    rule: PolicyRule
    compiled: CompiledRule

    def describe(self) -> str:
        """``rule 'no-rm'`` or ``rule rules[2]``, plus the rule's reason when it has one."""
        text = f"rule {self.label!r}" if self.rule.name else f"rule {self.label}"
        return f"{text} ({self.rule.reason})" if self.rule.reason else text


class RuleSet:
    """Rules grouped by verdict in config order (first match wins within a verdict)."""

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._by_verdict: dict[Verdict, list[RuleMatch]] = {v: [] for v in Verdict}
        for i, rule in enumerate(config.rules):
            label = rule.name or f"rules[{i}]"
            self._by_verdict[rule.verdict].append(RuleMatch(label, rule, rule.compile()))
        fresh = "|".join(fnmatch.translate(glob) for glob in config.fresh_approval_after_untrusted)
        self._fresh = re.compile(fresh) if fresh else None

    def first(
        self, verdict: Verdict, tool: str, agent: str, arguments: Mapping[str, JsonValue]
    ) -> RuleMatch | None:
        """The first rule with ``verdict`` that matches the call, if any."""
        for match in self._by_verdict[verdict]:
            if match.compiled.matches(tool, agent, arguments):
                return match
        return None

    def needs_fresh_approval(self, tool: str) -> bool:
        """Whether ``tool`` needs a fresh approval after untrusted content."""
        return self._fresh is not None and self._fresh.match(tool) is not None

    def decide(self, call: ToolCall, spec: ToolSpec, agent: str, call_hash: str) -> PolicyDecision:
        """Steps 4-6 of a check: ask rules, allow rules, then the default for the tool's risk."""
        tool, args = call.name, call.arguments
        ask = self.first(Verdict.ASK, tool, agent, args)
        allow = None if ask is not None else self.first(Verdict.ALLOW, tool, agent, args)
        if ask is not None:
            verdict, reason, rule = (
                Verdict.ASK,
                f"{tool} needs approval by {ask.describe()}",
                ask.label,
            )
        elif allow is not None:
            verdict, reason, rule = (
                Verdict.ALLOW,
                f"{tool} allowed by {allow.describe()}",
                allow.label,
            )
        else:
            verdict = self.config.default_by_risk[spec.risk]
            reason = (
                f"{tool} {_WHAT[verdict]}: no rule or grant matched and the default for "
                f"{spec.risk.value} tools is {verdict.value}"
            )
            rule = f"default_by_risk.{spec.risk.value}"
        return PolicyDecision(
            verdict=verdict, reason=reason, tool=tool, call_hash=call_hash, rule=rule
        )
