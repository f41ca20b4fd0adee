"""Small, faithful fakes of the brain's collaborators (each implements its pyclaw.meta protocol).

Loaded by ``conftest.py`` as the module ``pyclaw_brain_fakes`` (a unique name, so it cannot clash
with another package's test helpers under ``--import-mode=importlib``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from pyclaw.meta import (
    GENESIS_HASH,
    AgentProfile,
    ApprovalDecision,
    ApprovalRequest,
    AssistantMessageEvent,
    BuiltContext,
    ChainReport,
    ContextOverflowError,
    ErrorInfo,
    EventPayload,
    Grant,
    GrantScope,
    GuardVetoError,
    LLMRequest,
    LLMResponse,
    Message,
    NoOpGuard,
    PolicyDecision,
    ProviderError,
    ResponseDone,
    RunFinishedEvent,
    RunNotFoundError,
    RunRecord,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    SessionInfo,
    SessionNotFoundError,
    StreamEvent,
    SummaryEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolContext,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UsageError,
    UserMessageEvent,
    Verdict,
    new_id,
    utcnow,
    verify_chain,
)
from pyclaw.meta import RiskLevel as Risk

# -- session log ---------------------------------------------------------------------------------


class Killed(Exception):  # noqa: N818 - named for what it simulates
    """The simulated process died (``kill -9``): nothing it does reaches the session log anymore."""


class MemorySessionLog:
    """An in-memory ``SessionLog`` with the real one's semantics: hash-chained events sealed with
    ``SessionEvent.seal``, ``start_run``/``finish_run`` appending ``run_started``/``run_finished``,
    atomic ``append_many``. ``reads`` records every ``read``'s ``after_seq``."""

    def __init__(self) -> None:
        self.sessions: dict[str, SessionInfo] = {}
        self.events: dict[str, list[SessionEvent]] = {}
        self.runs: dict[str, RunRecord] = {}
        self.reads: list[int] = []
        self.fail_appends_of: str | None = None
        self.dead = False
        self.kill_before: str | None = None
        """The process dies just before writing an event of this kind (see ``kill``)."""

    def kill(self) -> None:
        """Simulate ``kill -9``: from now on every call fails and nothing more is written."""
        self.dead = True

    def restart(self) -> None:
        """A new process opens the same log: what was written before the kill is all there is."""
        self.dead = False
        self.kill_before = None

    def _alive(self) -> None:
        if self.dead:
            raise Killed("the process is dead")

    async def mark_interrupted(self) -> list[RunRecord]:
        """Close every run still ``running`` as ``interrupted`` (what the daemon does on start)."""
        error = ErrorInfo(type="Interrupted", message="the process stopped", retryable=True)
        running = [r.id for r in self.runs.values() if r.status is RunStatus.RUNNING]
        return [
            await self.finish_run(rid, status=RunStatus.INTERRUPTED, error=error) for rid in running
        ]

    async def create_session(
        self,
        *,
        agent: str,
        channel: str,
        session_id: str | None = None,
        title: str | None = None,
        external_key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SessionInfo:
        sid = session_id or new_id("ses")
        if sid in self.sessions:
            raise UsageError(f"session {sid} exists")
        info = SessionInfo(
            id=sid,
            agent=agent,
            channel=channel,
            created_at=utcnow(),
            title=title,
            external_key=external_key,
            metadata=metadata or {},
        )
        self.sessions[sid] = info
        self.events[sid] = []
        return info

    def _events(self, session_id: str) -> list[SessionEvent]:
        if session_id not in self.events:
            raise SessionNotFoundError(f"session {session_id} not found")
        return self.events[session_id]

    async def get_session(self, session_id: str) -> SessionInfo:
        events = self._events(session_id)
        return self.sessions[session_id].model_copy(update={"event_count": len(events)})

    async def list_sessions(
        self, *, limit: int = 100, agent: str | None = None, channel: str | None = None
    ) -> list[SessionInfo]:
        found = [
            s
            for s in self.sessions.values()
            if (agent is None or s.agent == agent) and (channel is None or s.channel == channel)
        ]
        return list(reversed(found))[:limit]

    def _append(
        self, session_id: str, payloads: Sequence[EventPayload], run_id: str | None
    ) -> list[SessionEvent]:
        self._alive()
        events = self._events(session_id)
        for payload in payloads:
            if payload.kind == self.kill_before:
                self.kill()
                raise Killed(f"the process died before writing a {payload.kind} event")
            if payload.kind == self.fail_appends_of:
                self.fail_appends_of = None  # fails once
                raise RuntimeError(f"disk full while writing a {payload.kind} event")
        seq, prev = (events[-1].seq, events[-1].hash) if events else (-1, GENESIS_HASH)
        sealed: list[SessionEvent] = []
        for payload in payloads:
            seq += 1
            event = SessionEvent.seal(
                session_id=session_id, seq=seq, payload=payload, prev_hash=prev, run_id=run_id
            )
            sealed.append(event)
            prev = event.hash
        events.extend(sealed)
        return sealed

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> SessionEvent:
        return self._append(session_id, [payload], run_id)[0]

    async def append_many(
        self, session_id: str, payloads: Sequence[EventPayload], *, run_id: str | None = None
    ) -> list[SessionEvent]:
        return self._append(session_id, payloads, run_id)

    async def read(
        self, session_id: str, *, after_seq: int = -1, limit: int | None = None
    ) -> list[SessionEvent]:
        self._alive()
        self.reads.append(after_seq)
        found = [e for e in self._events(session_id) if e.seq > after_seq]
        return found if limit is None else found[:limit]

    async def tail(self, session_id: str, n: int) -> list[SessionEvent]:
        return self._events(session_id)[-n:] if n else []

    async def verify(self, session_id: str) -> ChainReport:
        return verify_chain(session_id, self._events(session_id))

    async def start_run(
        self, session_id: str, *, agent: str, run_id: str | None = None, trigger: str | None = None
    ) -> RunRecord:
        self._alive()
        self._events(session_id)
        rid = run_id or new_id("run")
        if rid in self.runs:
            raise UsageError(f"run {rid} exists")
        self._append(session_id, [RunStartedEvent(run_id=rid, agent=agent, trigger=trigger)], rid)
        record = RunRecord(
            id=rid,
            session_id=session_id,
            agent=agent,
            status=RunStatus.RUNNING,
            started_at=utcnow(),
            trigger=trigger,
        )
        self.runs[rid] = record
        return record

    async def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        usage: Usage | None = None,
        cost_usd: float | None = None,
        error: ErrorInfo | None = None,
    ) -> RunRecord:
        self._alive()
        record = await self.get_run(run_id)
        if record.status.terminal or not status.terminal:
            raise UsageError(f"cannot finish run {run_id} ({record.status} -> {status})")
        used, cost = usage or Usage(), cost_usd or 0.0
        finished = RunFinishedEvent(
            run_id=run_id, status=status, usage=used, cost_usd=cost, error=error
        )
        self._append(record.session_id, [finished], run_id)
        done = record.model_copy(
            update={
                "status": status,
                "finished_at": utcnow(),
                "usage": used,
                "cost_usd": cost,
                "error": error,
            }
        )
        self.runs[run_id] = done
        return done

    async def get_run(self, run_id: str) -> RunRecord:
        if run_id not in self.runs:
            raise RunNotFoundError(f"run {run_id} not found")
        return self.runs[run_id]

    async def list_runs(
        self, *, session_id: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[RunRecord]:
        found = [
            r
            for r in self.runs.values()
            if (session_id is None or r.session_id == session_id)
            and (status is None or r.status is status)
        ]
        return list(reversed(found))[:limit]

    # helpers for assertions
    def payloads(self, session_id: str) -> list[EventPayload]:
        return [e.payload for e in self.events[session_id]]

    def kinds(self, session_id: str) -> list[str]:
        return [e.kind for e in self.events[session_id]]


# -- model ---------------------------------------------------------------------------------------

Step = LLMResponse | BaseException | Callable[[LLMRequest], Awaitable[LLMResponse]]


def reply(
    text: str = "",
    *calls: ToolCall,
    usage: Usage | None = None,
    cost: float | None = 0.0,
    errors: tuple[ErrorInfo, ...] = (),
) -> LLMResponse:
    """A model reply with ``text`` and/or tool ``calls``."""
    return LLMResponse(
        model="fake-1",
        provider="scripted",
        message=Message.assistant(text, calls),
        usage=usage or Usage(input_tokens=10, output_tokens=5),
        cost_usd=cost,
        tool_call_errors=errors,
    )


def call(name: str, call_id: str | None = None, **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id or new_id("call"), name=name, arguments=arguments)


class ScriptedLLM:
    """An ``LLMProvider`` answering from a script; records every request it was sent."""

    def __init__(self, *steps: Step, delay: float = 0.0) -> None:
        self.steps: list[Step] = list(steps)
        self.requests: list[LLMRequest] = []
        self.delay = delay

    @property
    def name(self) -> str:
        return "scripted"

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self.steps:
            raise AssertionError("the scripted model ran out of replies")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, LLMResponse):
            return step
        return await step(request)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]:
        response = await self.complete(request)
        for word in response.message.text.split(" "):
            yield TextDelta(text=word + " ")
        yield ResponseDone(response=response)


# -- context builder -----------------------------------------------------------------------------


class FakeContext:
    """A ``ContextBuilder`` rendering user, assistant and tool-result events as messages.

    ``summaries`` are returned by the next build only (as a real compactor does once).
    """

    def __init__(self, *, overflow: bool = False) -> None:
        self.builds: list[dict[str, Any]] = []
        self.summaries: tuple[SummaryEvent, ...] = ()
        self.overflow = overflow

    async def build(
        self,
        *,
        agent: AgentProfile,
        history: Sequence[SessionEvent],
        tools: Sequence[ToolSpec],
        budget_tokens: int,
        query: str | None = None,
    ) -> BuiltContext:
        self.builds.append(
            {
                "history": list(history),
                "tools": [t.name for t in tools],
                "budget_tokens": budget_tokens,
                "query": query,
            }
        )
        if self.overflow:
            raise ContextOverflowError("the conversation does not fit 100 tokens")
        messages: list[Message] = []
        for event in history:
            p = event.payload
            if isinstance(p, UserMessageEvent | AssistantMessageEvent):
                messages.append(p.message)
            elif isinstance(p, ToolResultEvent):
                messages.append(Message.tool(p.result))
        summaries, self.summaries = self.summaries, ()
        request = LLMRequest(
            model="", messages=tuple(messages), system=agent.system_prompt, tools=tuple(tools)
        )
        return BuiltContext(request=request, input_tokens=len(messages), summaries=summaries)


# -- tools ---------------------------------------------------------------------------------------

Handler = Callable[[ToolCall, ToolContext], Awaitable[ToolResult | str]]


class FakeTools:
    """A ``ToolHost`` of named async handlers; records calls, contexts and peak concurrency."""

    def __init__(self) -> None:
        self.specs: dict[str, ToolSpec] = {}
        self.handlers: dict[str, Handler] = {}
        self.executed: list[tuple[ToolCall, ToolContext]] = []
        self.finished: list[str] = []
        self.running = 0
        self.peak = 0

    def add(self, name: str, handler: Handler | None = None, *, risk: Risk = Risk.SAFE) -> None:
        async def ok(call: ToolCall, context: ToolContext) -> str:
            return f"{name} ok"

        self.specs[name] = ToolSpec(name=name, description=f"the {name} tool", risk=risk)
        self.handlers[name] = handler or ok

    def list_tools(self) -> list[ToolSpec]:
        return list(self.specs.values())

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        self.executed.append((call, context))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            out = await self.handlers[call.name](call, context)
        finally:
            self.running -= 1
        self.finished.append(call.id)
        if isinstance(out, str):
            return ToolResult(call_id=call.id, name=call.name, content=out)
        return out


def sleeper(seconds: float, text: str = "done") -> Handler:
    async def handler(call: ToolCall, context: ToolContext) -> str:
        await asyncio.sleep(seconds)
        return text

    return handler


def failing(message: str = "file not found") -> Handler:
    async def handler(call: ToolCall, context: ToolContext) -> ToolResult:
        return ToolResult(
            call_id=call.id,
            name=call.name,
            status="error",
            content=message,
            error=ErrorInfo(type="ToolError", message=message),
        )

    return handler


def untrusted(text: str) -> Handler:
    async def handler(call: ToolCall, context: ToolContext) -> ToolResult:
        return ToolResult(call_id=call.id, name=call.name, content=text, untrusted=True)

    return handler


def raising(exc: Exception, after: float = 0.0) -> Handler:
    async def handler(call: ToolCall, context: ToolContext) -> str:
        await asyncio.sleep(after)
        raise exc

    return handler


# -- policy, approver, guard, observer -----------------------------------------------------------


class FakePolicy:
    """A ``PolicyEngine`` with a fixed verdict per tool; records checks and decisions."""

    def __init__(self, verdicts: dict[str, Verdict] | None = None) -> None:
        self.verdicts = verdicts or {}
        self.checks: list[tuple[ToolCall, ToolContext]] = []
        self.decided: list[tuple[ApprovalRequest, ApprovalDecision]] = []
        self.grants: list[Grant] = []

    async def check(self, call: ToolCall, spec: ToolSpec, context: ToolContext) -> PolicyDecision:
        self.checks.append((call, context))
        for grant in self.grants:
            if grant.tool == call.name and grant.call_hash in (None, call.call_hash):
                if grant.scope is GrantScope.ONCE:
                    self.grants.remove(grant)  # an allow-once grant is consumed by its check
                return PolicyDecision(
                    verdict=Verdict.ALLOW,
                    reason=f"{call.name} allowed by grant {grant.id}",
                    tool=call.name,
                    call_hash=call.call_hash,
                    grant_id=grant.id,
                )
        verdict = self.verdicts.get(call.name, Verdict.ALLOW)
        return PolicyDecision(
            verdict=verdict,
            reason=f"{call.name} is {verdict.value} by the test policy",
            tool=call.name,
            call_hash=call.call_hash,
        )

    async def decide(self, request: ApprovalRequest, decision: ApprovalDecision) -> Grant | None:
        self.decided.append((request, decision))
        if decision.verdict is not Verdict.ALLOW:
            return None
        grant = Grant(
            agent=request.agent,
            tool=request.call.name,
            scope=decision.scope,
            call_hash=request.call_hash if decision.scope is GrantScope.ONCE else None,
        )
        self.grants.append(grant)
        return grant

    async def list_grants(self, *, include_inactive: bool = False) -> list[Grant]:
        return []

    async def revoke(self, grant_id: str) -> Grant:
        raise UsageError("no grants in the fake")


class FakeApprover:
    """An ``Approver`` answering every request the same way (optionally for the wrong call)."""

    def __init__(self, verdict: Verdict = Verdict.ALLOW, *, wrong_hash: bool = False) -> None:
        self.verdict = verdict
        self.wrong_hash = wrong_hash
        self.requests: list[ApprovalRequest] = []

    async def request_approval(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        return ApprovalDecision(
            request_id=request.id,
            call_hash="0" * 64 if self.wrong_hash else request.call_hash,
            verdict=self.verdict,
            decided_by="tester",
        )


class FakeGuard(NoOpGuard):
    """A ``Guard`` that can rewrite the system prompt, veto tools by name or redact results."""

    def __init__(
        self,
        *,
        system: str | None = None,
        veto_tools: tuple[str, ...] = (),
        veto_llm: str | None = None,
        redact: str | None = None,
    ) -> None:
        self.system = system
        self.veto_tools = veto_tools
        self.veto_llm = veto_llm
        self.redact = redact

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        if self.veto_llm is not None:
            raise GuardVetoError(self.veto_llm)
        if self.system is not None:
            return request.model_copy(update={"system": self.system})
        return request

    async def before_tool(self, call: ToolCall) -> ToolCall:
        if call.name in self.veto_tools:
            raise GuardVetoError(f"{call.name} is blocked by the test guard")
        return call

    async def after_tool(self, result: ToolResult) -> ToolResult:
        if self.redact is not None and self.redact in result.content:
            return result.model_copy(
                update={"content": result.content.replace(self.redact, "[REDACTED]")}
            )
        return result


class RecordingObserver:
    """A ``RunObserver`` keeping what it saw; ``fail`` makes every callback raise."""

    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[SessionEvent] = []
        self.texts: list[str] = []
        self.fail = fail

    async def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("observer broke")

    async def on_text(self, delta: str) -> None:
        self.texts.append(delta)
        if self.fail:
            raise RuntimeError("observer broke")


def killing(log: MemorySessionLog) -> Callable[..., Awaitable[Any]]:
    """A tool handler or model step that kills the process (``log.kill()``) where it runs."""

    async def die(*_: Any) -> Any:
        log.kill()
        raise Killed("kill -9")

    return die


async def eventually(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (polling every 5 ms), or fail after ``within_s`` seconds."""
    for _ in range(int(within_s / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never became true")


def unpaired_calls(events: Sequence[SessionEvent]) -> list[str]:
    """Ids of tool calls (in assistant messages or tool_call events) that have no tool_result."""
    calls: list[str] = []
    results: set[str] = set()
    for event in events:
        p = event.payload
        if isinstance(p, AssistantMessageEvent):
            calls.extend(c.id for c in p.message.tool_calls)
        elif isinstance(p, ToolCallEvent):
            calls.append(p.call.id)
        elif isinstance(p, ToolResultEvent):
            results.add(p.result.call_id)
    return [c for c in dict.fromkeys(calls) if c not in results]


PROVIDER_DOWN = ProviderError("HTTP 503: upstream overloaded", retryable=True, status=503)
