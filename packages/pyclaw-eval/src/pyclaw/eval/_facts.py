"""What happened in one turn, read from its events: the same reading for a recording and a replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    AssistantMessageEvent,
    ErrorInfo,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    PolicyDecision,
    PolicyDecisionEvent,
    RunFinishedEvent,
    RunStartedEvent,
    SessionEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    Usage,
    UserMessageEvent,
    canonical_json,
)


def call_signature(call: ToolCall) -> str:
    """A tool call as one comparable line: its name and canonical arguments (ids left out)."""
    args = call.raw_arguments if call.raw_arguments is not None else canonical_json(call.arguments)
    return f"{call.name} {args}"


@dataclass(frozen=True, slots=True)
class LLMExchange:
    """One recorded model call: what was asked and what came back (a response or an error)."""

    provider: str
    request: LLMRequest | None
    response: LLMResponse | None
    error: ErrorInfo | None


@dataclass(slots=True)
class TurnFacts:
    """The facts of one turn that a replay is compared on."""

    user: Message | None = None
    answer: str | None = None
    status: str | None = None
    calls: list[ToolCall] = field(default_factory=list[ToolCall])
    results: dict[str, ToolResult] = field(default_factory=dict[str, ToolResult])
    approvals: list[ApprovalRequest] = field(default_factory=list[ApprovalRequest])
    decisions: list[ApprovalDecision] = field(default_factory=list[ApprovalDecision])
    policy: dict[str, list[PolicyDecision]] = field(default_factory=dict[str, list[PolicyDecision]])
    llm: list[LLMExchange] = field(default_factory=list[LLMExchange])
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: float | None = None

    @property
    def tool_sequence(self) -> list[str]:
        return [call_signature(c) for c in self.calls]

    @property
    def approval_sequence(self) -> list[str]:
        return [call_signature(r.call) for r in self.approvals]

    def result_for(self, call: ToolCall) -> ToolResult | None:
        return self.results.get(call.id)


def turn_facts(events: Sequence[SessionEvent]) -> TurnFacts:  # noqa: PLR0912 - a branch per kind
    """Read a turn's events (``run_started`` … ``run_finished``, resumed runs included)."""
    facts = TurnFacts()
    hashes: dict[str, str] = {}  # tool call id -> call hash
    requests: dict[str, LLMRequestEvent] = {}
    started = finished = None
    for event in events:
        p = event.payload
        if isinstance(p, UserMessageEvent) and facts.user is None:
            facts.user = p.message
        elif isinstance(p, AssistantMessageEvent) and p.final:
            facts.answer = p.message.text
        elif isinstance(p, ToolCallEvent):
            facts.calls.append(p.call)
            hashes[p.call.id] = p.call.call_hash
        elif isinstance(p, ToolResultEvent):
            facts.results[p.result.call_id] = p.result
        elif isinstance(p, ApprovalRequestedEvent):
            facts.approvals.append(p.request)
        elif isinstance(p, ApprovalResolvedEvent):
            facts.decisions.append(p.decision)
        elif isinstance(p, PolicyDecisionEvent):
            key = p.decision.call_hash or hashes.get(p.call_id, p.call_id)
            facts.policy.setdefault(key, []).append(p.decision)
        elif isinstance(p, LLMRequestEvent):
            requests[p.call_id] = p
        elif isinstance(p, LLMResponseEvent):
            asked = requests.get(p.call_id)
            exchange = LLMExchange(
                p.provider, None if asked is None else asked.request, p.response, p.error
            )
            facts.llm.append(exchange)
        elif isinstance(p, RunStartedEvent):
            started = started or event.ts
        elif isinstance(p, RunFinishedEvent):
            finished = event.ts
            facts.status = p.status.value
            facts.usage = facts.usage + p.usage
            facts.cost_usd += p.cost_usd
    if started is not None and finished is not None:
        facts.latency_ms = (finished - started).total_seconds() * 1000
    return facts
