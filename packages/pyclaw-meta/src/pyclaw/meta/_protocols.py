"""One Protocol per swappable module. Implementations live in their own packages.

Everything async is I/O; a backend doing blocking work (SQLite, files, keyring) runs it off the
event loop. Protocols are ``runtime_checkable`` so wiring can assert what it was handed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import AwareDatetime, Field, JsonValue

from pyclaw.meta._agent import AgentProfile
from pyclaw.meta._artifact import ArtifactRef
from pyclaw.meta._base import Model, new_id, utcnow
from pyclaw.meta._control import ControlEvent, OutboundMessage, RunRequest
from pyclaw.meta._errors import ErrorInfo
from pyclaw.meta._events import EventPayload, SessionEvent, SummaryEvent
from pyclaw.meta._llm import LLMRequest, LLMResponse, StreamEvent, Usage
from pyclaw.meta._messages import Message
from pyclaw.meta._policy import ApprovalDecision, ApprovalRequest, Grant, PolicyDecision
from pyclaw.meta._run import ChainReport, RunRecord, RunStatus, SessionInfo
from pyclaw.meta._tools import ToolCall, ToolResult, ToolSpec


class AppliedMigration(Model):
    component: str
    version: int
    name: str


@runtime_checkable
class Storage(Protocol):
    """A database that components migrate and share (SQLite by default)."""

    @property
    def path(self) -> Path | None: ...

    def migrate(self) -> list[AppliedMigration]:
        """Apply every pending migration of every registered component, in order."""
        ...

    def schema_versions(self) -> dict[str, int]:
        """The applied version of each component's schema."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SessionLog(Protocol):
    """The append-only, hash-chained log of sessions, their events and their runs."""

    async def create_session(
        self,
        *,
        agent: str,
        channel: str,
        session_id: str | None = None,
        title: str | None = None,
        external_key: str | None = None,
        metadata: dict[str, JsonValue] | None = None,
    ) -> SessionInfo: ...

    async def get_session(self, session_id: str) -> SessionInfo:
        """Raises ``SessionNotFoundError`` when there is no such session."""
        ...

    async def list_sessions(
        self, *, limit: int = 100, agent: str | None = None, channel: str | None = None
    ) -> list[SessionInfo]:
        """Most recently created first."""
        ...

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> SessionEvent: ...

    async def append_many(
        self, session_id: str, payloads: Sequence[EventPayload], *, run_id: str | None = None
    ) -> list[SessionEvent]:
        """Append several events atomically (all or none)."""
        ...

    async def read(
        self, session_id: str, *, after_seq: int = -1, limit: int | None = None
    ) -> list[SessionEvent]:
        """Events with ``seq > after_seq`` in order."""
        ...

    async def tail(self, session_id: str, n: int) -> list[SessionEvent]:
        """The last ``n`` events, in order."""
        ...

    async def verify(self, session_id: str) -> ChainReport: ...

    async def start_run(
        self, session_id: str, *, agent: str, run_id: str | None = None, trigger: str | None = None
    ) -> RunRecord: ...

    async def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        usage: Usage | None = None,
        cost_usd: float | None = None,
        error: ErrorInfo | None = None,
    ) -> RunRecord: ...

    async def get_run(self, run_id: str) -> RunRecord: ...

    async def list_runs(
        self, *, session_id: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[RunRecord]: ...


@runtime_checkable
class ArtifactStore(Protocol):
    """Content-addressed bytes: the same content is stored once, read back verified."""

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef: ...

    async def get(self, ref: ArtifactRef | str) -> bytes:
        """Raises ``ArtifactNotFoundError``, or ``ArtifactCorruptError`` when the bytes changed."""
        ...

    async def exists(self, ref: ArtifactRef | str) -> bool: ...


@runtime_checkable
class LLMProvider(Protocol):
    """One way to reach a model."""

    @property
    def name(self) -> str: ...

    async def complete(self, request: LLMRequest) -> LLMResponse: ...

    def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]: ...


class BuiltContext(Model):
    """What a ``ContextBuilder`` produced for one model call.

    ``summaries`` are compaction summaries made while building: the caller appends them to the
    session log so the next build starts from them instead of summarizing again. ``input_tokens``
    is the builder's own count of the request (tiktoken or its fallback estimate).
    """

    request: LLMRequest
    input_tokens: int = Field(ge=0)
    summaries: tuple[SummaryEvent, ...] = ()
    memory_ids: tuple[str, ...] = ()


@runtime_checkable
class ContextBuilder(Protocol):
    """Turns a session's history, the agent profile and memory into an ``LLMRequest`` under budget.

    ``history`` is the session's events in order (summaries included); ``query`` is what memory is
    searched with (usually the latest user message). Raises ``ContextOverflowError`` when even the
    most compact form does not fit ``budget_tokens``.
    """

    async def build(
        self,
        *,
        agent: AgentProfile,
        history: Sequence[SessionEvent],
        tools: Sequence[ToolSpec],
        budget_tokens: int,
        query: str | None = None,
    ) -> BuiltContext: ...


class ToolContext(Model):
    """Where and for whom a tool runs.

    ``tainted`` is set once untrusted content (a web page, a file, an HTTP body) entered the run:
    policy may then require a fresh approval for risky calls even under an existing grant.
    """

    session_id: str
    agent: str
    run_id: str | None = None
    workspace: str | None = None
    tainted: bool = False


@runtime_checkable
class ToolHost(Protocol):
    def list_tools(self) -> list[ToolSpec]: ...

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """Never raises for tool failures: they come back as a ``ToolResult`` with an error."""
        ...


@runtime_checkable
class PolicyEngine(Protocol):
    async def check(
        self, call: ToolCall, spec: ToolSpec, context: ToolContext
    ) -> PolicyDecision: ...

    async def decide(self, request: ApprovalRequest, decision: ApprovalDecision) -> Grant | None:
        """Record a human's decision; returns the grant it created, if any."""
        ...

    async def list_grants(self, *, include_inactive: bool = False) -> list[Grant]: ...

    async def revoke(self, grant_id: str) -> Grant: ...


@runtime_checkable
class Approver(Protocol):
    """Puts an ``ApprovalRequest`` to a human (a channel, the CLI) and waits for the answer.

    Returns a ``deny`` decision, never raises, when the request expires (``expires_at``) unanswered.
    """

    async def request_approval(self, request: ApprovalRequest) -> ApprovalDecision: ...


class RunResult(Model):
    run_id: str
    status: RunStatus
    answer: Message | None = None
    usage: Usage = Usage()
    cost_usd: float = 0.0
    error: ErrorInfo | None = None
    steps: int = Field(default=0, ge=0)


@runtime_checkable
class Brain(Protocol):
    async def run(self, request: RunRequest) -> RunResult: ...


ControlSink = Callable[[ControlEvent], Awaitable[None]]


@runtime_checkable
class Channel(Protocol):
    """A conversation surface (Telegram, the terminal). Feeds ``ControlEvent``s in, sends replies out."""

    @property
    def name(self) -> str: ...

    async def start(self, sink: ControlSink) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver a reply; returns the channel's message id when it has one."""
        ...

    async def request_approval(self, request: ApprovalRequest, chat_id: str) -> None: ...


MemoryKind = Literal["fact", "note", "procedure"]


class MemoryItem(Model):
    """One long-term memory. ``source`` is its provenance (e.g. ``session:<id>``, ``user``,
    ``tool:<name>``); an item past ``expires_at`` is never returned."""

    id: str = Field(default_factory=lambda: new_id("mem"))
    agent: str
    kind: MemoryKind = "fact"
    text: str = Field(min_length=1)
    source: str | None = None
    session_id: str | None = None
    tags: tuple[str, ...] = ()
    created_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime | None = None


class MemoryHit(Model):
    """A search result; a higher ``score`` is a better match (relevance blended with recency)."""

    item: MemoryItem
    score: float


@runtime_checkable
class MemoryStore(Protocol):
    async def add(self, item: MemoryItem) -> MemoryItem: ...

    async def get(self, item_id: str) -> MemoryItem:
        """Raises ``NotFoundError`` when there is no such (unexpired) item."""
        ...

    async def search(
        self,
        query: str,
        *,
        agent: str,
        limit: int = 5,
        kinds: Sequence[MemoryKind] | None = None,
    ) -> list[MemoryHit]: ...

    async def list(self, *, agent: str, limit: int = 100) -> list[MemoryItem]:
        """Newest first, unexpired only."""
        ...

    async def forget(self, item_id: str) -> None: ...


@runtime_checkable
class Guard(Protocol):
    """Hooks around every LLM and tool call. Return the (possibly transformed) value or raise
    ``GuardVetoError`` to stop it."""

    async def before_llm(self, request: LLMRequest) -> LLMRequest: ...

    async def after_llm(self, response: LLMResponse) -> LLMResponse: ...

    async def before_tool(self, call: ToolCall) -> ToolCall: ...

    async def after_tool(self, result: ToolResult) -> ToolResult: ...


class NoOpGuard:
    """A ``Guard`` that lets everything through unchanged."""

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        return request

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        return response

    async def before_tool(self, call: ToolCall) -> ToolCall:
        return call

    async def after_tool(self, result: ToolResult) -> ToolResult:
        return result


@runtime_checkable
class Redactor(Protocol):
    """Removes secrets from text before it is written anywhere."""

    def redact(self, text: str) -> str: ...


class NullRedactor:
    """A ``Redactor`` that changes nothing."""

    def redact(self, text: str) -> str:
        return text


class SecretInfo(Model):
    name: str
    backend: str


@runtime_checkable
class SecretStore(Protocol):
    """Named secrets. Synchronous (keyring is); call it off the event loop from async code."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> str:
        """Store a secret; returns the backend that took it."""
        ...

    def delete(self, name: str) -> None: ...

    def list(self) -> list[SecretInfo]: ...
