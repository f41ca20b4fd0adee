"""``AgentBrain``: the agent loop (plan → act → observe → reflect) under a run's budgets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from pyclaw.brain._act import act
from pyclaw.brain._budget import check_budget, timeout_outcome
from pyclaw.brain._calls import reconcile
from pyclaw.brain._history import HistoryCache
from pyclaw.brain._loops import LoopDetector
from pyclaw.brain._model import call_model
from pyclaw.brain._recorder import Recorder
from pyclaw.brain._resume import begin_resumed, close_running, resume_chain, resume_trigger
from pyclaw.brain._seal import seal
from pyclaw.brain._settings import BrainSettings, RunObserver
from pyclaw.brain._state import Collaborators, Outcome, RunState, RunStop
from pyclaw.brain._verify import verify_answer
from pyclaw.meta import (
    AgentProfile,
    Approver,
    AssistantMessageEvent,
    ContextBuilder,
    ErrorEvent,
    ErrorInfo,
    EventPayload,
    Guard,
    LLMProvider,
    Message,
    NoteEvent,
    PolicyEngine,
    RunCancelledError,
    RunRecord,
    RunRequest,
    RunResult,
    RunStatus,
    SessionLog,
    ToolHost,
    UsageError,
    UserMessageEvent,
    Validator,
    utcnow,
)

_CANCELLED = Outcome(
    RunStatus.CANCELLED,
    RunCancelledError("the run was cancelled").to_info(),
    unfinished="the run was cancelled",
)


class AgentBrain:
    """Runs an agent's turns and missions (implements ``pyclaw.meta.Brain``).

    Each step is one model call on the context built from the session's history; the tool calls
    the model asks for are checked (policy, approval, guard), run (several at once) and recorded;
    the next step sees their results. The run ends when the model answers without calling a tool,
    or stops on a budget, a repeated failing call, an error or cancellation. Every model call,
    tool call, tool result and decision is a session event, and no tool call is ever left without
    a result. A mission is the same loop with a bigger ``RunRequest.budget``.
    """

    def __init__(
        self,
        *,
        agent: AgentProfile,
        llm: LLMProvider,
        context: ContextBuilder,
        tools: ToolHost,
        sessions: SessionLog,
        policy: PolicyEngine | None = None,
        approver: Approver | None = None,
        guard: Guard | None = None,
        settings: BrainSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        workspace: str | None = None,
        validator: Validator | None = None,
    ) -> None:
        settings = settings or BrainSettings()
        self._c = Collaborators(
            agent=agent,
            llm=llm,
            context=context,
            tools=tools,
            sessions=sessions,
            policy=policy,
            approver=approver,
            guard=guard,
            settings=settings,
            clock=clock,
            workspace=workspace,
            validator=validator,
        )
        self._histories = HistoryCache(settings.history_cache_sessions)
        self._finishing: set[asyncio.Task[RunResult]] = set()

    @property
    def agent(self) -> AgentProfile:
        return self._c.agent

    @property
    def settings(self) -> BrainSettings:
        return self._c.settings

    async def run(self, request: RunRequest, *, observer: RunObserver | None = None) -> RunResult:
        """Run one turn or mission to its end and return how it went.

        Failures (provider errors, budgets, loops, crashes) come back as a ``FAILED`` result, never
        as an exception; cancellation records the run as ``CANCELLED`` and re-raises. With
        ``request.resume_of`` the run continues a turn a crash (or a shutdown) interrupted (see
        ``_resume``); ``UsageError`` when that run cannot be resumed.
        """
        c = self._c
        if request.agent != c.agent.name:
            raise UsageError(f"this brain runs agent {c.agent.name!r}, not {request.agent!r}")
        chain: tuple[RunRecord, ...] = ()
        trigger = request.origin.channel if request.origin is not None else None
        if request.resume_of is not None:
            chain = await resume_chain(c.sessions, request)
            await close_running(c.sessions, chain)
            trigger = resume_trigger(request.resume_of)
        history = self._histories.get(request.session_id)
        recorder = Recorder(
            sessions=c.sessions,
            session_id=request.session_id,
            run_id=request.id,
            history=history,
            observer=observer,
            observer_timeout_s=c.settings.observer_timeout_s,
        )
        first_index = len(history.events)  # the run's events can only come after these
        await c.sessions.start_run(
            request.session_id, agent=c.agent.name, run_id=request.id, trigger=trigger
        )
        st = RunState(request=request, recorder=recorder, first_index=first_index, chain=chain)
        try:
            outcome = await self._drive(st)
        except asyncio.CancelledError:
            await self._shielded(self._finish(st, _CANCELLED))
            raise
        return await self._shielded(self._finish(st, outcome))

    async def _drive(self, st: RunState) -> Outcome:
        timeout_s = st.request.budget.timeout_s
        timer = asyncio.timeout(timeout_s)
        try:
            async with timer:
                await self._loop(st)
        except RunStop as stop:
            return stop.outcome
        except TimeoutError as exc:
            if timer.expired() and timeout_s is not None:
                return timeout_outcome(timeout_s)
            return _crashed(exc)
        except Exception as exc:  # noqa: BLE001 - any failure ends the run recorded, never raised
            return _crashed(exc)
        return Outcome(RunStatus.SUCCEEDED)

    async def _loop(self, st: RunState) -> None:
        c = self._c
        rec = st.recorder
        origin = st.request.origin
        wanted = c.agent.tools
        st.specs = {s.name: s for s in c.tools.list_tools() if not wanted or s.name in wanted}
        if st.chain:
            await begin_resumed(st)
            if st.answer is not None:  # the turn had answered before the crash
                return
        else:
            await rec.add(
                UserMessageEvent(
                    message=st.request.input,
                    control_event_id=None if origin is None else origin.id,
                )
            )
        loops = LoopDetector(c.settings.loop_threshold)
        while True:
            check_budget(st, before_step=True)
            response = await call_model(c, st)
            message, arg_errors = reconcile(response)
            calls = message.tool_calls
            if c.settings.plan_first and st.steps == 1 and calls and message.text.strip():
                rec.stage(NoteEvent(text=f"plan: {message.text.strip()}"))
            if not calls:
                message = await verify_answer(c, st, message)
            rec.stage(AssistantMessageEvent(message=message, final=not calls))
            if not calls:
                await rec.flush()
                st.answer = message
                return
            check_budget(st, before_step=False)
            stop: Outcome | None = None
            for call, result in await act(c, st, calls, arg_errors):
                stop = stop or loops.observe(call, result)
            if stop is not None:
                raise RunStop(stop)

    async def _finish(self, st: RunState, outcome: Outcome) -> RunResult:
        rec = st.recorder
        await rec.flush()
        if outcome.status is not RunStatus.SUCCEEDED:  # a success has every call answered
            await seal(st, outcome)
        tail: list[EventPayload] = []
        if outcome.record_error and outcome.error is not None:
            tail.append(ErrorEvent(error=outcome.error))
        if outcome.note is not None:
            tail.append(NoteEvent(text=outcome.note, level="warning"))
        answer = st.answer
        if outcome.say is not None:
            answer = Message.assistant(outcome.say)
            tail.append(AssistantMessageEvent(message=answer, final=True))
        if tail:
            await rec.add(*tail)
        await self._c.sessions.finish_run(
            st.request.id,
            status=outcome.status,
            usage=st.usage,
            cost_usd=st.cost_usd,
            error=outcome.error,
        )
        if rec.observed:
            await rec.sync()  # the run_finished event, for the observer
        return RunResult(
            run_id=st.request.id,
            status=outcome.status,
            answer=answer,
            usage=st.usage,
            cost_usd=st.cost_usd,
            error=outcome.error,
            steps=st.steps,
        )

    async def _shielded(self, finishing: Coroutine[Any, Any, RunResult]) -> RunResult:
        """Finish even if the caller is cancelled meanwhile (the task is kept until it is done)."""
        task = asyncio.create_task(finishing)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)


def _crashed(exc: BaseException) -> Outcome:
    message = str(exc) or type(exc).__name__
    error = ErrorInfo(type=type(exc).__name__, message=f"the run failed unexpectedly: {message}")
    return Outcome(
        RunStatus.FAILED,
        error,
        record_error=True,
        unfinished_status="cancelled",
        unfinished=f"the run failed unexpectedly ({type(exc).__name__})",
    )
