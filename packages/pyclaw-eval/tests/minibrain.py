"""Test helpers (loaded as ``pyclaw_eval_minibrain`` by ``conftest.py``): a miniature agent loop (pyclaw-eval depends on pyclaw-meta only,
so the real ``pyclaw-brain`` is not available here), a scripted model and a tool host that counts
what it really executed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from pyclaw.eval import ReplayIO, ScratchSessionLog
from pyclaw.meta import (
    ApprovalRequest,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    Approver,
    AssistantMessageEvent,
    LLMProvider,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    PolicyDecisionEvent,
    PolicyEngine,
    RiskLevel,
    RunRequest,
    RunResult,
    RunStatus,
    SessionEvent,
    SessionLog,
    StreamEvent,
    ToolCall,
    ToolCallEvent,
    ToolContext,
    ToolHost,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserMessageEvent,
    Verdict,
    new_id,
)

SPECS = (
    ToolSpec(name="read_file", description="Read a file."),
    ToolSpec(name="exec", description="Run a command.", risk=RiskLevel.RISKY),
)


def history_messages(events: Sequence[SessionEvent]) -> tuple[Message, ...]:
    out: list[Message] = []
    for e in events:
        p = e.payload
        if isinstance(p, UserMessageEvent | AssistantMessageEvent):
            out.append(p.message)
        elif isinstance(p, ToolResultEvent):
            out.append(Message.tool(p.result))
    return tuple(out)


class MiniBrain:
    """Model → tools (policy, approval) → model … until a text answer, every step recorded."""

    def __init__(
        self,
        *,
        llm: LLMProvider,
        tools: ToolHost,
        sessions: SessionLog,
        policy: PolicyEngine | None = None,
        approver: Approver | None = None,
        agent: str = "main",
    ) -> None:
        self.llm, self.tools, self.sessions = llm, tools, sessions
        self.policy, self.approver, self.agent = policy, approver, agent

    async def run(self, request: RunRequest) -> RunResult:
        sid, rid = request.session_id, request.id
        await self.sessions.start_run(sid, agent=self.agent, run_id=rid)
        await self.sessions.append(sid, UserMessageEvent(message=request.input), run_id=rid)
        usage, cost = Usage(), 0.0
        specs = tuple(self.tools.list_tools())
        for _ in range(8):
            events = await self.sessions.read(sid)
            llm_request = LLMRequest(model="m", messages=history_messages(events), tools=specs)
            call_id = new_id("llm")
            await self.sessions.append(
                sid,
                LLMRequestEvent(call_id=call_id, provider=self.llm.name, request=llm_request),
                run_id=rid,
            )
            response = await self.llm.complete(llm_request)
            usage, cost = usage + response.usage, cost + (response.cost_usd or 0.0)
            calls = response.message.tool_calls
            await self.sessions.append_many(
                sid,
                [
                    LLMResponseEvent(call_id=call_id, provider=self.llm.name, response=response),
                    AssistantMessageEvent(message=response.message, final=not calls),
                ],
                run_id=rid,
            )
            if not calls:
                await self.sessions.finish_run(
                    rid, status=RunStatus.SUCCEEDED, usage=usage, cost_usd=cost
                )
                return RunResult(
                    run_id=rid,
                    status=RunStatus.SUCCEEDED,
                    answer=response.message,
                    usage=usage,
                    cost_usd=cost,
                )
            for call in calls:
                await self.sessions.append(sid, ToolCallEvent(call=call), run_id=rid)
                result = await self._act(call, sid, rid)
                await self.sessions.append(sid, ToolResultEvent(result=result), run_id=rid)
        await self.sessions.finish_run(rid, status=RunStatus.FAILED, usage=usage, cost_usd=cost)
        return RunResult(run_id=rid, status=RunStatus.FAILED)

    async def _act(self, call: ToolCall, sid: str, rid: str) -> ToolResult:
        context = ToolContext(session_id=sid, agent=self.agent, run_id=rid)
        spec = next(s for s in SPECS if s.name == call.name)
        if self.policy is not None:
            decision = await self.policy.check(call, spec, context)
            await self.sessions.append(
                sid, PolicyDecisionEvent(call_id=call.id, decision=decision), run_id=rid
            )
            if decision.verdict is Verdict.ASK:
                assert self.approver is not None
                ask = ApprovalRequest(
                    session_id=sid, run_id=rid, agent=self.agent, call=call, reason=decision.reason
                )
                await self.sessions.append(sid, ApprovalRequestedEvent(request=ask), run_id=rid)
                answer = await self.approver.request_approval(ask)
                await self.sessions.append(sid, ApprovalResolvedEvent(decision=answer), run_id=rid)
                if answer.verdict is not Verdict.ALLOW:
                    return ToolResult(
                        call_id=call.id, name=call.name, status="denied", content="denied"
                    )
        return await self.tools.execute(call, context)


Reply = str | ToolCall | list[ToolCall]


class ScriptModel:
    """An ``LLMProvider`` answering from a script, or from a function of the request."""

    def __init__(self, script: Sequence[Reply] | Callable[[LLMRequest], Reply]) -> None:
        self.script = script if callable(script) else list(script)
        self.requests: list[LLMRequest] = []

    @property
    def name(self) -> str:
        return "script"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        reply = self.script(request) if callable(self.script) else self.script.pop(0)
        if isinstance(reply, str):
            message = Message.assistant(reply)
        else:
            message = Message.assistant(
                tool_calls=tuple(reply if isinstance(reply, list) else [reply])
            )
        usage = Usage(input_tokens=10, output_tokens=5)
        return LLMResponse(
            model="m", provider="script", message=message, usage=usage, cost_usd=0.001
        )

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError
        yield  # pragma: no cover


@dataclass
class Files:
    """A tool host over a dict of files; ``exec`` appends to ``ran`` (its side effect)."""

    files: dict[str, str] = field(default_factory=dict[str, str])
    ran: list[str] = field(default_factory=list[str])

    def list_tools(self) -> list[ToolSpec]:
        return list(SPECS)

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        if call.name == "exec":
            self.ran.append(str(call.arguments["command"]))
            return ToolResult(
                call_id=call.id, name="exec", content=f"ran {call.arguments['command']}"
            )
        path = str(call.arguments.get("path"))
        if path not in self.files:
            return ToolResult(
                call_id=call.id, name="read_file", status="error", content="no such file"
            )
        return ToolResult(
            call_id=call.id, name="read_file", content=self.files[path], untrusted=True
        )


class AlwaysAsk:
    """A policy asking about ``exec`` and allowing the rest."""

    async def check(self, call: ToolCall, spec: ToolSpec, context: ToolContext):
        from pyclaw.meta import PolicyDecision  # noqa: PLC0415

        verdict = Verdict.ASK if call.name == "exec" else Verdict.ALLOW
        return PolicyDecision(
            verdict=verdict, reason="exec is risky", tool=call.name, call_hash=call.call_hash
        )

    async def decide(self, request: object, decision: object) -> None:
        return None

    async def list_grants(self, *, include_inactive: bool = False) -> list[object]:
        return []

    async def revoke(self, grant_id: str) -> object:
        raise NotImplementedError


class Yes:
    async def request_approval(self, request: ApprovalRequest):
        from pyclaw.meta import ApprovalDecision  # noqa: PLC0415

        return ApprovalDecision(
            request_id=request.id,
            call_hash=request.call_hash,
            verdict=Verdict.ALLOW,
            decided_by="tester",
        )


@dataclass
class Recording:
    log: ScratchSessionLog
    session_id: str
    files: Files


async def record(
    turns: Sequence[tuple[str, Sequence[Reply]]], files: dict[str, str] | None = None
) -> Recording:
    """Run ``turns`` (prompt, model script) through ``MiniBrain`` into a fresh log."""
    log = ScratchSessionLog()
    info = await log.create_session(agent="main", channel="test")
    host = Files(dict(files or {}))
    for prompt, script in turns:
        brain = MiniBrain(
            llm=ScriptModel(script), tools=host, sessions=log, policy=AlwaysAsk(), approver=Yes()
        )  # pyright: ignore[reportArgumentType] - test doubles
        await brain.run(RunRequest(session_id=info.id, agent="main", input=Message.user(prompt)))
    return Recording(log, info.id, host)


def recorded_brain(model: LLMProvider | None = None) -> Callable[[ReplayIO], MiniBrain]:
    """``make_brain`` for replays: the recorded provider (strict) unless ``model`` is given."""

    def make(io: ReplayIO) -> MiniBrain:
        llm = io.llm or model
        assert llm is not None
        return MiniBrain(
            llm=llm, tools=io.tools, sessions=io.sessions, policy=io.policy, approver=io.approver
        )

    return make
