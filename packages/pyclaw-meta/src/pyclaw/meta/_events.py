"""Session events: an envelope (``SessionEvent``) around one payload kind, hash-chained.

Payloads form a discriminated union on ``kind``. The envelope's ``hash`` covers its header and the
sha256 of the canonical payload JSON, and its ``prev_hash`` is the previous event's ``hash`` in the
same session, so any edited, removed or reordered event is detectable by ``verify_chain``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue, TypeAdapter

from pyclaw.meta._base import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    Model,
    canonical_json,
    format_ts,
    new_id,
    sha256_hex,
    utcnow,
)
from pyclaw.meta._errors import ErrorInfo
from pyclaw.meta._llm import LLMRequest, LLMResponse, Usage
from pyclaw.meta._messages import Message
from pyclaw.meta._policy import ApprovalDecision, ApprovalRequest, PolicyDecision
from pyclaw.meta._run import ChainProblem, ChainReport, RunStatus
from pyclaw.meta._tools import ToolCall, ToolResult


class UserMessageEvent(Model):
    kind: Literal["user_message"] = "user_message"
    message: Message
    control_event_id: str | None = None


class AssistantMessageEvent(Model):
    """What the model said: text and/or tool calls. ``final`` marks the turn's answer."""

    kind: Literal["assistant_message"] = "assistant_message"
    message: Message
    final: bool = False


class LLMRequestEvent(Model):
    kind: Literal["llm_request"] = "llm_request"
    call_id: str
    provider: str
    request: LLMRequest


class LLMResponseEvent(Model):
    kind: Literal["llm_response"] = "llm_response"
    call_id: str
    provider: str
    response: LLMResponse | None = None
    error: ErrorInfo | None = None


class ToolCallEvent(Model):
    kind: Literal["tool_call"] = "tool_call"
    call: ToolCall


class ToolResultEvent(Model):
    kind: Literal["tool_result"] = "tool_result"
    result: ToolResult


class PolicyDecisionEvent(Model):
    kind: Literal["policy_decision"] = "policy_decision"
    call_id: str
    decision: PolicyDecision


class ApprovalRequestedEvent(Model):
    kind: Literal["approval_requested"] = "approval_requested"
    request: ApprovalRequest


class ApprovalResolvedEvent(Model):
    kind: Literal["approval_resolved"] = "approval_resolved"
    decision: ApprovalDecision


class GuardActionEvent(Model):
    kind: Literal["guard_action"] = "guard_action"
    hook: Literal["before_llm", "after_llm", "before_tool", "after_tool", "outbound"]
    action: Literal["veto", "transform", "redact"]
    reason: str


class RunStartedEvent(Model):
    kind: Literal["run_started"] = "run_started"
    run_id: str
    agent: str
    trigger: str | None = None


class RunFinishedEvent(Model):
    kind: Literal["run_finished"] = "run_finished"
    run_id: str
    status: RunStatus
    usage: Usage = Usage()
    cost_usd: float = 0.0
    error: ErrorInfo | None = None


class SummaryEvent(Model):
    """A compaction summary standing in for events ``first_seq..last_seq`` when building context."""

    kind: Literal["summary"] = "summary"
    text: str
    first_seq: int
    last_seq: int
    level: int = 0


class NoteEvent(Model):
    kind: Literal["note"] = "note"
    text: str
    level: Literal["info", "warning"] = "info"


class ErrorEvent(Model):
    kind: Literal["error"] = "error"
    error: ErrorInfo


class CustomEvent(Model):
    """Extension point: a named event with free-form JSON data."""

    kind: Literal["custom"] = "custom"
    name: str
    data: dict[str, JsonValue] = Field(default_factory=dict)


EventPayload = Annotated[
    UserMessageEvent
    | AssistantMessageEvent
    | LLMRequestEvent
    | LLMResponseEvent
    | ToolCallEvent
    | ToolResultEvent
    | PolicyDecisionEvent
    | ApprovalRequestedEvent
    | ApprovalResolvedEvent
    | GuardActionEvent
    | RunStartedEvent
    | RunFinishedEvent
    | SummaryEvent
    | NoteEvent
    | ErrorEvent
    | CustomEvent,
    Field(discriminator="kind"),
]


@cache
def _payload_adapter() -> TypeAdapter[EventPayload]:
    return TypeAdapter(EventPayload)


EVENT_KINDS: tuple[str, ...] = (
    "user_message",
    "assistant_message",
    "llm_request",
    "llm_response",
    "tool_call",
    "tool_result",
    "policy_decision",
    "approval_requested",
    "approval_resolved",
    "guard_action",
    "run_started",
    "run_finished",
    "summary",
    "note",
    "error",
    "custom",
)


def payload_json(payload: EventPayload) -> str:
    """The JSON text of a payload: what is stored and what the chain's digest is taken over.

    Deterministic for a given payload (fields in schema order, compact, UTF-8), rendered by
    pydantic-core. Verification hashes the stored bytes, so the text never needs re-rendering.
    """
    return payload.model_dump_json()


def parse_payload(text: str | bytes) -> EventPayload:
    return _payload_adapter().validate_json(text)


def event_hash(
    *,
    id: str,
    session_id: str,
    seq: int,
    run_id: str | None,
    ts: str,
    kind: str,
    payload_sha256: str,
    prev_hash: str,
) -> str:
    """The chain hash of one event from its stored header fields and its payload digest."""
    header = [SCHEMA_VERSION, id, session_id, seq, run_id, ts, kind, payload_sha256, prev_hash]
    return sha256_hex(canonical_json(header))


class SessionEvent(Model):
    """One immutable entry of a session's log."""

    schema_version: int = SCHEMA_VERSION
    id: str
    session_id: str
    seq: int = Field(ge=0)
    run_id: str | None = None
    ts: AwareDatetime
    payload: EventPayload
    payload_sha256: str
    prev_hash: str
    hash: str

    @property
    def kind(self) -> str:
        return self.payload.kind

    @classmethod
    def seal(
        cls,
        *,
        session_id: str,
        seq: int,
        payload: EventPayload,
        prev_hash: str,
        run_id: str | None = None,
        event_id: str | None = None,
        ts: AwareDatetime | None = None,
        payload_text: str | None = None,
    ) -> SessionEvent:
        """Build the next event of a chain, computing its payload digest and hash.

        ``payload_text`` may be given when the caller already rendered (e.g. redacted) the payload;
        it must be the text that gets stored, since the digest is over exactly those bytes.
        """
        eid = event_id or new_id("evt")
        when = (ts or utcnow()).astimezone(utcnow().tzinfo)
        text = payload_json(payload) if payload_text is None else payload_text
        digest = sha256_hex(text)
        h = event_hash(
            id=eid,
            session_id=session_id,
            seq=seq,
            run_id=run_id,
            ts=format_ts(when),
            kind=payload.kind,
            payload_sha256=digest,
            prev_hash=prev_hash,
        )
        return cls(
            id=eid,
            session_id=session_id,
            seq=seq,
            run_id=run_id,
            ts=when,
            payload=payload,
            payload_sha256=digest,
            prev_hash=prev_hash,
            hash=h,
        )

    def expected_hash(self) -> str:
        return event_hash(
            id=self.id,
            session_id=self.session_id,
            seq=self.seq,
            run_id=self.run_id,
            ts=format_ts(self.ts),
            kind=self.kind,
            payload_sha256=self.payload_sha256,
            prev_hash=self.prev_hash,
        )


def verify_chain(
    session_id: str, events: Iterable[SessionEvent], *, payload_texts: Iterable[str] | None = None
) -> ChainReport:
    """Check a session's events: contiguous ``seq`` from 0, each ``prev_hash`` links, each hash holds.

    ``payload_texts`` (the stored payload JSON, one per event, in order) lets a backend prove that
    the stored payload bytes still match ``payload_sha256``; without it the payload is re-rendered.
    """
    problems: list[ChainProblem] = []
    prev = GENESIS_HASH
    count = 0
    expected_seq = 0
    texts = iter(payload_texts) if payload_texts is not None else None
    for ev in events:
        count += 1
        text = payload_json(ev.payload) if texts is None else next(texts, None)
        if text is None:
            raise ValueError("payload_texts has fewer entries than events")
        if ev.session_id != session_id:
            problems.append(ChainProblem(seq=ev.seq, event_id=ev.id, problem="foreign session id"))
        if ev.seq != expected_seq:
            what = "sequence gap" if ev.seq > expected_seq else "sequence out of order"
            problems.append(
                ChainProblem(
                    seq=ev.seq,
                    event_id=ev.id,
                    problem=f"{what}: expected seq {expected_seq}, found {ev.seq}",
                )
            )
        # One missing event is reported once, not again for every event after it.
        expected_seq = max(expected_seq, ev.seq + 1)
        if ev.prev_hash != prev:
            problems.append(
                ChainProblem(seq=ev.seq, event_id=ev.id, problem="prev_hash does not link")
            )
        if sha256_hex(text) != ev.payload_sha256:
            problems.append(
                ChainProblem(
                    seq=ev.seq, event_id=ev.id, problem="payload does not match its digest"
                )
            )
        if ev.expected_hash() != ev.hash:
            problems.append(ChainProblem(seq=ev.seq, event_id=ev.id, problem="event hash mismatch"))
        prev = ev.hash
    if texts is not None and next(texts, None) is not None:
        raise ValueError("payload_texts has more entries than events")
    return ChainReport(
        session_id=session_id,
        events=count,
        ok=not problems,
        head_hash=prev,
        problems=tuple(problems),
    )
