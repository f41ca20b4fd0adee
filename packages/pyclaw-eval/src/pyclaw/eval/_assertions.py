"""Suite assertions on a turn: contains / regex / equals / tool_called (with an arguments subset)
/ tool_not_called / max_cost_usd. Each assertion is a table with exactly one of those keys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Self

from pydantic import JsonValue, model_validator

from pyclaw.eval._facts import TurnFacts
from pyclaw.eval._render import clip
from pyclaw.eval._report import Check
from pyclaw.meta import Model, canonical_json

KINDS = ("contains", "regex", "equals", "tool_called", "tool_not_called", "max_cost_usd")


class Assertion(Model):
    """One expectation on a turn. ``args`` (with ``tool_called``) must be a subset of the call's
    arguments."""

    contains: str | None = None
    regex: str | None = None
    equals: str | None = None
    tool_called: str | None = None
    args: dict[str, JsonValue] | None = None
    tool_not_called: str | None = None
    max_cost_usd: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an assertion needs exactly one of {', '.join(KINDS)}")
        if self.args is not None and self.tool_called is None:
            raise ValueError("'args' goes with 'tool_called' only")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex {self.regex!r}: {exc}") from exc
        return self

    def describe(self) -> str:
        kind = next(k for k in KINDS if getattr(self, k) is not None)
        value: object = getattr(self, kind)
        args = "" if self.args is None else f" with {canonical_json(self.args)}"
        return f"{kind} {value!r}{args}"

    def check(self, facts: TurnFacts) -> Check:
        answer = facts.answer or ""
        ok: bool
        if self.contains is not None:
            ok = self.contains in answer
        elif self.regex is not None:
            ok = re.search(self.regex, answer) is not None
        elif self.equals is not None:
            ok = answer == self.equals
        elif self.tool_called is not None:
            ok = any(
                c.name == self.tool_called and _subset(self.args or {}, c.arguments)
                for c in facts.calls
            )
        elif self.tool_not_called is not None:
            ok = all(c.name != self.tool_not_called for c in facts.calls)
        else:
            ok = facts.cost_usd <= (self.max_cost_usd or 0.0)
        detail = self.describe()
        if not ok:
            seen = (
                f"cost ${facts.cost_usd:.6f}"
                if self.max_cost_usd is not None
                else f"tools called: {', '.join(c.name for c in facts.calls) or 'none'}"
                if self.tool_called or self.tool_not_called
                else f"answer: {clip(answer, 120)!r}"
            )
            detail = f"{detail} failed ({seen})"
        return Check(name="assertion", ok=ok, detail=detail)


def _subset(expected: dict[str, JsonValue], actual: dict[str, JsonValue]) -> bool:
    return all(key in actual and actual[key] == value for key, value in expected.items())


def check_assertions(assertions: Sequence[Assertion], facts: TurnFacts) -> list[Check]:
    return [a.check(facts) for a in assertions]
