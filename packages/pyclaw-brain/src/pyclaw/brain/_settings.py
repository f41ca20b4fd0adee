"""The brain's settings and the optional observer that follows a run as it happens."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pyclaw.meta import Model, SessionEvent, UsageError


class BrainSettings(Model):
    """How the agent loop behaves; the run's limits (steps, tokens, cost, time) come with each
    ``RunRequest.budget`` instead."""

    loop_threshold: int = 3
    """Stop the run when the same failing call (tool name and exact arguments) failed this often."""
    max_parallel_tools: int = 8
    """How many of the tool calls of one model reply may run at the same time."""
    approval_timeout_s: float = 1800.0
    """A pending approval expires (as a denial) after this many seconds."""
    stream: bool = False
    """Use ``llm.stream`` and forward text deltas to the observer's ``on_text``."""
    plan_first: bool = False
    """Ask the first model call of a run to write a short plan first; it is recorded as a note."""
    observer_timeout_s: float = 5.0
    """A slow observer callback is abandoned after this many seconds (the run goes on)."""
    history_cache_sessions: int = 32
    """How many sessions' event histories the brain keeps in memory between runs."""
    verify_timeout_s: float = 120.0
    """How long an agent with ``verify = true`` waits for the validator's verdict."""

    def model_post_init(self, context: Any, /) -> None:
        if self.loop_threshold < 1:
            raise UsageError(f"loop_threshold must be at least 1, not {self.loop_threshold}")
        if self.max_parallel_tools < 1:
            raise UsageError(
                f"max_parallel_tools must be at least 1, not {self.max_parallel_tools}"
            )
        if self.history_cache_sessions < 1:
            raise UsageError("history_cache_sessions must be at least 1")
        for name in ("approval_timeout_s", "observer_timeout_s", "verify_timeout_s"):
            value: float = getattr(self, name)
            if not value > 0:
                raise UsageError(f"{name} must be a positive number of seconds, not {value}")


@runtime_checkable
class RunObserver(Protocol):
    """A progress sink for one run (a Telegram typing indicator or live message, the CLI).

    ``on_event`` sees every event the run records, in order; ``on_text`` gets the answer's text
    deltas when streaming. Errors an observer raises are logged and ignored.
    """

    async def on_event(self, event: SessionEvent) -> None: ...

    async def on_text(self, delta: str) -> None: ...
