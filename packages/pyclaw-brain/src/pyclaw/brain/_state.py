"""What one run carries: its collaborators, its running totals and how it ended."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pyclaw.brain._recorder import Recorder
from pyclaw.brain._settings import BrainSettings
from pyclaw.brain._survey import Interrupted
from pyclaw.meta import (
    AgentProfile,
    Approver,
    ContextBuilder,
    ErrorInfo,
    Guard,
    LLMProvider,
    Message,
    PolicyEngine,
    RunRecord,
    RunRequest,
    RunStatus,
    SessionLog,
    ToolContext,
    ToolHost,
    ToolResult,
    ToolSpec,
    ToolStatus,
    Usage,
    Validator,
)


@dataclass(frozen=True, slots=True)
class Collaborators:
    """Everything the brain was handed, as protocol-typed objects."""

    agent: AgentProfile
    llm: LLMProvider
    context: ContextBuilder
    tools: ToolHost
    sessions: SessionLog
    policy: PolicyEngine | None
    approver: Approver | None
    guard: Guard | None
    settings: BrainSettings
    clock: Callable[[], datetime]
    workspace: str | None
    validator: Validator | None = None


@dataclass(slots=True)
class RunState:
    """The running totals and facts of one run."""

    request: RunRequest
    recorder: Recorder
    first_index: int
    """Where this run's events start in the session history (the run never looks before it)."""
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    """The agent's tools for this run, by name (``agent.tools`` empty means all of the host's)."""
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    cost_unknown: bool = False
    steps: int = 0
    tainted: bool = False
    answer: Message | None = None
    outcomes: dict[str, ToolResult] = field(default_factory=dict)
    """Results known for calls (finished or crashed) even if not recorded yet: a run that stops
    mid-batch records these rather than claiming the call never finished."""
    chain: tuple[RunRecord, ...] = ()
    """The runs of the interrupted turn this run resumes (newest first), else empty."""
    resume: Interrupted | None = None
    """What the interrupted turn left, when this run resumes one (``RunRequest.resume_of``)."""

    @property
    def query(self) -> str | None:
        return self.request.input.text or None

    def tool_context(self, c: Collaborators) -> ToolContext:
        return ToolContext(
            session_id=self.request.session_id,
            agent=c.agent.name,
            run_id=self.request.id,
            workspace=c.workspace,
            tainted=self.tainted,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended and what to record about it."""

    status: RunStatus
    error: ErrorInfo | None = None
    say: str | None = None
    """A final assistant message telling the user why the run stopped (budgets, loops)."""
    note: str | None = None
    """A warning note recorded before ``say``."""
    record_error: bool = False
    """Record ``error`` as an ``ErrorEvent`` too (unexpected failures)."""
    unfinished: str = "the run stopped before the call completed"
    """Why a call without a result has none: becomes that call's terminal result."""
    unfinished_status: ToolStatus = "cancelled"


class RunStop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside the loop to end the run early with an ``Outcome``."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error.message if outcome.error else outcome.status.value)
        self.outcome = outcome


def failed(error: ErrorInfo, *, unfinished: str | None = None) -> RunStop:
    """A stop that fails the run with ``error``."""
    reason = unfinished or f"the run failed: {error.message}"
    return RunStop(Outcome(RunStatus.FAILED, error, unfinished=reason))
