"""Agent profiles and scheduled jobs."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from pyclaw.meta._base import Model, utcnow
from pyclaw.meta._control import Budget, RunMode


class AgentProfile(Model):
    """Who an agent is: its model, prompt, tools and budgets (``[agents.<name>]`` in config)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    provider: str
    model: str | None = None
    system_prompt: str = "You are a helpful assistant."
    tools: tuple[str, ...] = ()
    budget: Budget = Budget()
    verify: bool = False
    context_tokens: int = Field(default=8192, ge=512)
    """The model's context window as used by PyClaw: prompt plus room for the answer."""
    max_output_tokens: int = Field(default=1024, gt=0)


class CronJob(Model):
    """A scheduled prompt. Exactly one of ``schedule`` (crontab) or ``every_seconds`` is set."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    schedule: str | None = None
    every_seconds: float | None = Field(default=None, gt=0)
    timezone: str = "UTC"
    agent: str | None = None
    prompt: str
    mode: RunMode = "isolated"
    deliver: Literal["announce", "webhook", "silent"] = "announce"
    target: str | None = None
    enabled: bool = True
    created_at: AwareDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        if (self.schedule is None) == (self.every_seconds is None):
            raise ValueError("exactly one of 'schedule' or 'every_seconds' must be set")
        return self
