"""The pydantic models of ``pyclaw.toml``. Key names are fixed: scripts and users depend on them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol, Self, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from pyclaw.meta import AgentProfile, Budget, ConfigError, CronJob
from pyclaw.policy import PolicyConfig
from pyclaw.runtime._schedule import check_crontab, check_timezone, parse_duration

ProviderKind = Literal["openai", "anthropic", "openai-compatible", "local", "cortensor"]
PROVIDER_KINDS: tuple[str, ...] = ("openai", "anthropic", "openai-compatible", "local", "cortensor")

BUILTIN_TOOLS: tuple[str, ...] = (
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "glob",
    "grep",
    "exec",
    "http_fetch",
    "weather",
    "browser",
    "memory_add",
    "memory_search",
    "delegate",
)
"""Tool names an agent may list; third-party tools are ``plugin:<name>`` or a dotted name."""

DEFAULT_AGENT_TOOLS: tuple[str, ...] = tuple(t for t in BUILTIN_TOOLS if t != "delegate")
"""The tools of an agent whose ``tools`` key is absent (``delegate`` needs a Cortensor router)."""

DEFAULT_PROVIDER = "local"
DEFAULT_AGENT = "default"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
TELEGRAM_API = "https://api.telegram.org"

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLUGIN_TOOL = re.compile(r"^plugin:[A-Za-z0-9_.-]{1,64}$")
_DOTTED_TOOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$")


class SecretResolver(Protocol):
    """Turns ``secret:<name>`` into the secret's value (``pyclaw.secret.DefaultSecretStore`` does)."""

    def resolve(self, value: str) -> str: ...


class ConfigFieldError(ValueError):
    """A validation failure that names the offending key (relative to the model raising it)."""

    def __init__(
        self, message: str, *, key: str | tuple[str | int, ...], expected: str | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.expected = expected


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, types are not coerced, values frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TelegramConfig(Section):
    """``[telegram]``: the bot token (``secret:<name>`` or plaintext) and who may talk to it."""

    token: str | None = None
    api_base_url: str = TELEGRAM_API
    allowed_user_ids: list[int] = Field(default_factory=list[int])
    poll_timeout: int = Field(default=30, ge=0, le=300)

    _check_url = field_validator("api_base_url")(_http_url)


class DaemonConfig(Section):
    """``[daemon]``: how many turns run at once, crash tolerance, shutdown grace (seconds)."""

    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_attempts: int = Field(default=3, ge=1, le=100)
    """A message that crashed the daemon this many times is set aside and its chat parked."""
    shutdown_grace: float = Field(default=20.0, ge=0, le=3600)
    """On SIGTERM, running turns get this long to finish before they are checkpointed."""

    @field_validator("shutdown_grace", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PriceConfig(Section):
    """``[providers.<name>.prices.<model>]``: USD per million tokens (overrides the built-in table)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)

    @field_validator("input", "output", "cached_input", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ProviderConfig(Section):
    """``[providers.<name>]``: one way to reach a model."""

    kind: ProviderKind
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    model: str | None = None
    session_id: str | None = None
    api_version: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    prices: dict[str, PriceConfig] = Field(default_factory=dict[str, PriceConfig])

    @field_validator("timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return parse_duration(value)
        return value

    _check_url = field_validator("base_url")(_http_url)

    @field_validator("session_id", mode="before")
    @classmethod
    def _session_id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_VAR.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.api_key is not None and self.api_key_env is not None:
            raise ConfigFieldError("set only one of api_key or api_key_env", key="api_key_env")
        if self.kind in ("openai-compatible", "cortensor") and self.base_url is None:
            raise ConfigFieldError(f"required for kind {self.kind!r}", key="base_url")
        for key in ("session_id", "api_version"):
            if getattr(self, key) is not None and self.kind != "cortensor":
                raise ConfigFieldError("only valid for kind 'cortensor'", key=key)
        return self

    def resolve_api_key(
        self, secrets: SecretResolver, environ: Mapping[str, str] | None = None
    ) -> str | None:
        """The API key: ``api_key`` (through ``secrets`` when it is ``secret:<name>``), else the
        variable named by ``api_key_env``; ``None`` when neither is set."""
        if self.api_key is not None:
            return secrets.resolve(self.api_key)
        if self.api_key_env is not None:
            value = (os.environ if environ is None else environ).get(self.api_key_env)
            if not value:
                raise ConfigError(
                    f"the environment variable {self.api_key_env} (api_key_env) is not set"
                )
            return value
        return None


def check_tool_name(name: str) -> str:
    if name in BUILTIN_TOOLS or _PLUGIN_TOOL.match(name) or _DOTTED_TOOL.match(name):
        return name
    raise ConfigFieldError(
        f"unknown tool {name!r}",
        key="tools",
        expected=f"one of {', '.join(BUILTIN_TOOLS)}, 'plugin:<name>' or a dotted third-party name",
    )


class AgentConfig(Section):
    """``[agents.<name>]``: which provider and model, the system prompt and the tools."""

    provider: str
    model: str | None = None
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    tools: list[str] | None = None
    context_tokens: int | None = Field(default=None, ge=512)
    """The prompt plus answer budget; default 4096 for a ``local`` provider (the embedded
    server's window), else 8192 (a cost bound, well under hosted models' windows)."""
    max_output_tokens: int = Field(default=1024, gt=0)
    max_steps: int = Field(default=16, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    timeout: float = Field(default=600.0, gt=0)
    verify: bool = False

    @field_validator("timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return parse_duration(value)
        return value

    @field_validator("max_cost_usd", mode="before")
    @classmethod
    def _usd(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for name in value:
            check_tool_name(name)
        if len(set(value)) != len(value):
            raise ValueError("a tool is listed twice")
        return value


class CronConfig(Section):
    """One ``[[cron]]`` entry: a prompt run on a crontab ``schedule`` or ``every`` interval."""

    name: Name
    schedule: str | None = None
    every: float | None = None
    timezone: str = "UTC"
    agent: str | None = None
    prompt: str = Field(min_length=1)
    mode: Literal["main", "isolated"] = "isolated"
    deliver: Literal["announce", "webhook", "silent"] = "announce"
    target: str | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str | int | float):
            return parse_duration(value)
        return value

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        return None if value is None else check_crontab(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        if (self.schedule is None) == (self.every is None):
            raise ConfigFieldError("set exactly one of schedule or every", key="schedule")
        if self.deliver == "webhook" and (self.target is None or _http_url(self.target) is None):
            raise ConfigFieldError("deliver = 'webhook' needs an http(s) URL", key="target")
        return self


class PyClawConfig(Section):
    """The whole of ``pyclaw.toml``, with built-in defaults filled in and references cross-checked.

    With no providers, a ``local`` provider (the embedded model) is added; with no agents, an agent
    ``default`` using the first provider; ``default_agent`` falls back to ``default`` (or the first
    agent).
    """

    telegram: TelegramConfig | None = None
    providers: dict[Name, ProviderConfig] = Field(default_factory=dict[str, ProviderConfig])
    agents: dict[Name, AgentConfig] = Field(default_factory=dict[str, AgentConfig])
    default_agent: str | None = None
    cron: list[CronConfig] = Field(default_factory=list[CronConfig])
    tools: dict[str, dict[str, JsonValue]] = Field(default_factory=dict[str, dict[str, JsonValue]])
    """``[tools.<name>]``: each tool's own settings (e.g. ``[tools.exec] timeout_s = 60``)."""
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    """``[policy]``: rules, defaults by risk, approval timeout (see pyclaw-policy)."""
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    """``[daemon]``: concurrency, crash tolerance and shutdown grace of ``pyclaw daemon``."""

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        raw = dict(cast("dict[str, Any]", data))
        providers = raw.get("providers")
        if not providers:
            raw["providers"] = providers = {DEFAULT_PROVIDER: {"kind": "local"}}
        if not raw.get("agents") and isinstance(providers, dict) and providers:
            first = next(iter(cast("dict[str, object]", providers)))
            raw["agents"] = {DEFAULT_AGENT: {"provider": first}}
        agents = raw.get("agents")
        if raw.get("default_agent") is None and isinstance(agents, dict) and agents:
            names = list(cast("dict[str, object]", agents))
            raw["default_agent"] = DEFAULT_AGENT if DEFAULT_AGENT in names else names[0]
        return raw

    @model_validator(mode="after")
    def _references(self) -> Self:
        providers = ", ".join(self.providers)
        for name, agent in self.agents.items():
            if agent.provider not in self.providers:
                raise ConfigFieldError(
                    f"unknown provider {agent.provider!r}",
                    key=("agents", name, "provider"),
                    expected=f"one of {providers}",
                )
        for tool_name in self.tools:
            try:
                check_tool_name(tool_name)
            except ConfigFieldError as exc:
                raise ConfigFieldError(
                    str(exc), key=("tools", tool_name), expected=exc.expected
                ) from None
        agents = ", ".join(self.agents)
        if self.default_agent not in self.agents:
            raise ConfigFieldError(
                f"unknown agent {self.default_agent!r}",
                key=("default_agent",),
                expected=f"one of {agents}",
            )
        seen: set[str] = set()
        for index, job in enumerate(self.cron):
            if job.name in seen:
                raise ConfigFieldError(
                    f"duplicate cron name {job.name!r}", key=("cron", index, "name")
                )
            seen.add(job.name)
            if job.agent is not None and job.agent not in self.agents:
                raise ConfigFieldError(
                    f"unknown agent {job.agent!r}",
                    key=("cron", index, "agent"),
                    expected=f"one of {agents}",
                )
        return self

    def secret_fields(self) -> list[tuple[str, str]]:
        """``(dotted key, value)`` of every value that is a secret: API keys and the bot token."""
        fields: list[tuple[str, str]] = []
        if self.telegram is not None and self.telegram.token is not None:
            fields.append(("telegram.token", self.telegram.token))
        for name, provider in self.providers.items():
            if provider.api_key is not None:
                fields.append((f"providers.{name}.api_key", provider.api_key))
        return fields

    def plaintext_secrets(self) -> list[str]:
        """Keys whose secret is written in the file itself rather than as ``secret:<name>``."""
        return [key for key, value in self.secret_fields() if not value.startswith("secret:")]

    def secret_references(self) -> list[tuple[str, str]]:
        """``(dotted key, secret name)`` for every ``secret:<name>`` value."""
        return [
            (key, value.removeprefix("secret:").strip())
            for key, value in self.secret_fields()
            if value.startswith("secret:")
        ]

    def agent_profile(self, name: str | None = None) -> AgentProfile:
        """The ``AgentProfile`` of agent ``name`` (default: ``default_agent``)."""
        chosen = name or self.default_agent or DEFAULT_AGENT
        agent = self.agents.get(chosen)
        if agent is None:
            raise ConfigError(
                f"unknown agent {chosen!r}", expected=f"one of {', '.join(self.agents)}"
            )
        return AgentProfile(
            name=chosen,
            provider=agent.provider,
            model=agent.model or self.providers[agent.provider].model,
            system_prompt=agent.system_prompt,
            tools=tuple(DEFAULT_AGENT_TOOLS if agent.tools is None else agent.tools),
            budget=Budget(
                max_steps=agent.max_steps,
                max_tokens=agent.max_tokens,
                max_cost_usd=agent.max_cost_usd,
                timeout_s=agent.timeout,
            ),
            verify=agent.verify,
            context_tokens=agent.context_tokens
            or (4096 if self.providers[agent.provider].kind == "local" else 8192),
            max_output_tokens=agent.max_output_tokens,
        )

    def cron_jobs(self) -> list[CronJob]:
        """The ``[[cron]]`` entries as ``CronJob`` records."""
        return [
            CronJob(
                name=job.name,
                schedule=job.schedule,
                every_seconds=job.every,
                timezone=job.timezone,
                agent=job.agent or self.default_agent,
                prompt=job.prompt,
                mode=job.mode,
                deliver=job.deliver,
                target=job.target,
            )
            for job in self.cron
        ]
