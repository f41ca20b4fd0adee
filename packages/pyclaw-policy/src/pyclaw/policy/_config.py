"""``PolicyRule`` and ``PolicyConfig``: the ``[policy]`` table of ``pyclaw.toml``."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from pyclaw.meta import ConfigError, RiskLevel, Verdict
from pyclaw.policy._match import ArgPatterns, args_match, compile_args

DEFAULT_BY_RISK: dict[RiskLevel, Verdict] = {
    RiskLevel.SAFE: Verdict.ALLOW,
    RiskLevel.MODERATE: Verdict.ALLOW,
    RiskLevel.RISKY: Verdict.ASK,
    RiskLevel.DANGEROUS: Verdict.ASK,
}
"""What a tool call gets when no rule and no grant matches, by the tool's declared risk."""


class PolicyRule(BaseModel):
    """One ``[[policy.rules]]`` entry: a verdict for calls of matching tools, agents and arguments.

    ``tool`` and ``agent`` are fnmatch globs (``"exec"``, ``"browser*"``, ``"*"``). ``args`` maps an
    argument name to a regex that must FULLMATCH the argument's value (strings as they are, other
    values as canonical JSON); a missing argument means the rule does not match. Write patterns for
    fullmatch: ``git status.*`` also matches ``git status; rm -rf /``, while
    ``^git (status|log|diff)( [A-Za-z0-9_./-]+)*$`` allows only those subcommands with plain words.
    ``.`` never matches a newline (no DOTALL), so a second line cannot hide behind ``.*``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    tool: str = Field(min_length=1)
    agent: str = Field(default="*", min_length=1)
    args: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    name: str | None = Field(default=None, min_length=1)

    @field_validator("args")
    @classmethod
    def _valid_regexes(cls, value: dict[str, str]) -> dict[str, str]:
        compile_args(value)
        return value

    def compile(self) -> CompiledRule:
        """This rule with its globs and regexes compiled, for fast repeated matching."""
        return CompiledRule(
            tool=re.compile(fnmatch.translate(self.tool)),
            agent=re.compile(fnmatch.translate(self.agent)),
            args=compile_args(self.args),
        )

    def matches(self, tool: str, agent: str, arguments: Mapping[str, JsonValue]) -> bool:
        """Whether this rule applies to a call of ``tool`` by ``agent`` with ``arguments``."""
        return self.compile().matches(tool, agent, arguments)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A ``PolicyRule``'s matching part, compiled."""

    tool: re.Pattern[str]
    agent: re.Pattern[str]
    args: ArgPatterns

    def matches(self, tool: str, agent: str, arguments: Mapping[str, JsonValue]) -> bool:
        return (
            self.tool.match(tool) is not None
            and self.agent.match(agent) is not None
            and args_match(self.args, arguments)
        )


class PolicyConfig(BaseModel):
    """The ``[policy]`` table: rules, defaults by risk, approval and grant lifetimes.

    ``default_by_risk`` given partially is completed from ``DEFAULT_BY_RISK``.
    ``fresh_approval_after_untrusted`` lists tool globs that need a fresh approval of the exact call
    once untrusted content entered the run (``ToolContext.tainted``), whatever grants or allow rules
    say. ``default_window_s`` is the length of a window grant whose decision gives none;
    ``max_window_s`` caps every window. ``once_ttl_s`` is how long an allow-once grant stays
    usable: the caller checks the call again right after ``decide`` (which uses the grant), so this
    only bounds a grant nobody used.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[PolicyRule] = Field(default_factory=list)
    default_by_risk: dict[RiskLevel, Verdict] = Field(default_factory=lambda: dict(DEFAULT_BY_RISK))
    approval_timeout_s: float = Field(default=1800.0, gt=0)
    fresh_approval_after_untrusted: list[str] = Field(default_factory=lambda: ["exec"])
    default_window_s: float = Field(default=600.0, gt=0)
    max_window_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    once_ttl_s: float = Field(default=60.0, gt=0)

    @field_validator("default_by_risk")
    @classmethod
    def _complete_defaults(cls, value: dict[RiskLevel, Verdict]) -> dict[RiskLevel, Verdict]:
        return {**DEFAULT_BY_RISK, **value}

    @model_validator(mode="after")
    def _window_fits(self) -> Self:
        if self.default_window_s > self.max_window_s:
            raise ValueError(
                f"default_window_s ({self.default_window_s:g}) exceeds max_window_s ({self.max_window_s:g})"
            )
        return self

    @classmethod
    def load(
        cls, data: Mapping[str, object], *, file: str | None = None, key: str = "policy"
    ) -> PolicyConfig:
        """Validate a ``[policy]`` table; any problem is one ``ConfigError`` naming the key."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise config_error(exc, file=file, key=key) from None


def config_error(exc: ValidationError, *, file: str | None, key: str) -> ConfigError:
    """One clear ``ConfigError`` from the first problem pydantic found."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join([key, *(str(part) for part in first["loc"])])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = len(errors) - 1
    if more:
        message = f"{message} (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, file=file, key=where)
