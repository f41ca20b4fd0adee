"""The replay engine: recorded turns re-run through a brain the caller builds, then judged.

Two ways to replay a session. Independently (the default): each case starts from exactly the
recorded history before it, in its own scratch log with its own brain, so one changed answer
never leaks into the next case. As one conversation (``chain``, the default under ``strict``):
one scratch log and one brain per session, the turns replayed in order, each after the replayed
turns before it; with a deterministic replay that history equals the recording's, and the brain
keeps its history cache between turns, so a 1,000-turn session replays in linear time. After a
divergence, later turns of a chained replay may diverge too (like Temporal's replayer, which
stops at the first one).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pyclaw.eval._assertions import Assertion, check_assertions
from pyclaw.eval._cases import RecordedSession, ReplayCase
from pyclaw.eval._compare import EXACT, Comparator
from pyclaw.eval._facts import TurnFacts, turn_facts
from pyclaw.eval._json import JsonCache
from pyclaw.eval._judge import judge
from pyclaw.eval._recorded import (
    Divergences,
    RecordedApprover,
    RecordedPolicy,
    RecordedProvider,
    RecordedToolHost,
)
from pyclaw.eval._report import Attempt, CaseReport, Check, Observed, ReplayReport, summarize
from pyclaw.eval._scratch import ScratchSessionLog
from pyclaw.eval._verdict import AnswerJudge, judgement_check
from pyclaw.meta import Brain, Budget, RunRequest, SessionEvent, ToolSpec, UsageError

ToolsMode = Literal["recorded", "live"]


@dataclass(slots=True)
class ReplayIO:
    """What replayed turns are wired with; handed to the caller's ``make_brain``.

    ``sessions`` is a private log holding the recorded history before the turn (never the user's
    log). ``llm`` is the recorded provider under ``strict``, else ``None`` (the caller brings the
    model). ``tools``, ``policy`` and ``approver`` serve the recording; with ``tools_mode ==
    "live"`` the caller uses its own tool host and policy instead. In a chained replay the same
    objects serve every turn of the session in turn (``case`` is the current one).
    """

    session: RecordedSession
    case: ReplayCase
    sessions: ScratchSessionLog
    tools: RecordedToolHost
    llm: RecordedProvider | None
    policy: RecordedPolicy
    approver: RecordedApprover
    divergences: Divergences = field(default_factory=Divergences)
    tools_mode: ToolsMode = "recorded"

    @property
    def strict(self) -> bool:
        return self.llm is not None

    def load(self, case: ReplayCase) -> None:
        """Serve ``case``'s recording from now on (a new divergence list)."""
        self.case = case
        self.divergences = Divergences()
        self.tools.load(case.facts, self.divergences)
        if self.llm is not None:
            self.llm.load(case.facts, self.divergences)
        self.policy.load(case.facts)
        self.approver.load(case.facts)


MakeBrain = Callable[[ReplayIO], Brain | Awaitable[Brain]]
CaseCallback = Callable[[CaseReport], None]


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay. ``strict`` serves the recorded model responses and fails on any difference
    in the turn's event sequence; it needs ``tools="recorded"``. ``chain`` replays a session's
    turns as one conversation (default: under ``strict``). ``specs`` are the tools the recorded
    tool host offers the model (default: those the recording offered). ``judge`` also asks a
    ``Validator`` about each replayed answer (the ``judge`` check, see ``AnswerJudge``)."""

    strict: bool = False
    tools: ToolsMode = "recorded"
    repeat: int = 1
    compare: Comparator = EXACT
    agent: str | None = None
    budget: Budget | None = None
    specs: Sequence[ToolSpec] | None = None
    chain: bool | None = None
    judge: AnswerJudge | None = None

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise UsageError(f"--repeat must be at least 1, not {self.repeat}")
        if self.strict and self.tools != "recorded":
            raise UsageError("--strict needs the recorded tool results (--tools recorded)")

    @property
    def chained(self) -> bool:
        return self.strict if self.chain is None else self.chain

    def describe(self) -> dict[str, str | int | bool | None]:
        return {
            "strict": self.strict,
            "tools": self.tools,
            "repeat": self.repeat,
            "compare": self.compare.name,
            "agent": self.agent,
            "chain": self.chained,
            "judge": None if self.judge is None else self.judge.name,
        }


def observed(facts: TurnFacts) -> Observed:
    return Observed(
        status=facts.status,
        answer=facts.answer,
        tool_calls=tuple(facts.tool_sequence),
        approvals=tuple(facts.approval_sequence),
        usage=facts.usage,
        cost_usd=facts.cost_usd,
        latency_ms=facts.latency_ms,
    )


def _wire(
    session: RecordedSession,
    case: ReplayCase,
    history: Sequence[SessionEvent],
    options: ReplayOptions,
    *,
    recorded: bool,
    json: JsonCache,
) -> ReplayIO:
    log = ScratchSessionLog(json=json)
    log.seed(case.session_id, case.agent, history)
    divergences = Divergences()
    specs = case.tool_specs if options.specs is None else tuple(options.specs)
    strict = options.strict and recorded
    return ReplayIO(
        session=session,
        case=case,
        sessions=log,
        tools=RecordedToolHost(case.facts, specs, divergences),
        llm=RecordedProvider(case.facts, divergences, json=json) if strict else None,
        policy=RecordedPolicy(case.facts),
        approver=RecordedApprover(case.facts),
        divergences=divergences,
        tools_mode=options.tools if recorded else "live",
    )


async def _brain(make_brain: MakeBrain, io: ReplayIO) -> Brain:
    made = make_brain(io)
    return await made if inspect.isawaitable(made) else made


async def _run(
    io: ReplayIO,
    brain: Brain,
    options: ReplayOptions,
    *,
    assertions: Sequence[Assertion] = (),
    recorded: bool = True,
) -> Attempt:
    """Run ``io.case`` once through ``brain`` and judge it."""
    case = io.case
    before = (await io.sessions.tail(case.session_id, 1) or [None])[-1]
    after_seq = -1 if before is None else before.seq
    request = RunRequest(
        session_id=case.session_id,
        agent=options.agent or case.agent,
        input=case.input,
        budget=options.budget or Budget(),
    )
    started = time.perf_counter()
    crash: Check | None = None
    try:
        await brain.run(request)
    except Exception as exc:  # noqa: BLE001 - a crashing replay is a failed case, not a crash
        what = f"the replay raised {type(exc).__name__}: {exc}"
        crash = Check(name="status", ok=False, detail=what)
    latency = (time.perf_counter() - started) * 1000
    if io.llm is not None and io.llm.remaining:
        io.divergences.add(f"{io.llm.remaining} recorded model call(s) were never made")
    replayed = await io.sessions.read(case.session_id, after_seq=after_seq)
    facts = turn_facts(replayed)
    facts.latency_ms = latency
    checks = judge(case, facts, replayed, io.divergences.items, options) if recorded else []
    checks.extend(check_assertions(assertions, facts))
    if crash is not None:
        checks.insert(0, crash)
    judgement = None
    if options.judge is not None:
        judgement = await options.judge.judge(case.prompt, facts.answer)
        checks.append(judgement_check(judgement))
    return Attempt(
        passed=all(c.ok for c in checks),
        observed=observed(facts),
        checks=tuple(checks),
        judgement=judgement,
    )


def _report(
    case: ReplayCase,
    attempts: Sequence[Attempt],
    *,
    recorded: bool = True,
    name: str | None = None,
    case_id: str | None = None,
) -> CaseReport:
    return CaseReport(
        id=case_id or case.id,
        session_id=case.session_id if recorded else None,
        turn=case.turn if recorded else None,
        name=name,
        prompt=case.prompt,
        recorded=observed(case.facts) if recorded else None,
        attempts=tuple(attempts),
    )


async def replay_case(
    session: RecordedSession,
    case: ReplayCase,
    make_brain: MakeBrain,
    options: ReplayOptions,
    *,
    assertions: Sequence[Assertion] = (),
    recorded: bool = True,
    name: str | None = None,
    case_id: str | None = None,
) -> CaseReport:
    """Replay ``case`` on its own (from the recorded history before it) ``options.repeat`` times;
    it passes when every attempt does (pass^k). ``recorded=False`` runs a case that has no
    recording (a suite's inline prompt: live tools, the caller's model, assertions only)."""
    history = session.events[: case.prefix]
    attempts: list[Attempt] = []
    json = JsonCache()
    for _ in range(options.repeat):
        io = _wire(session, case, history, options, recorded=recorded, json=json)
        brain = await _brain(make_brain, io)
        attempts.append(await _run(io, brain, options, assertions=assertions, recorded=recorded))
    return _report(case, attempts, recorded=recorded, name=name, case_id=case_id)


async def _replay_chained(
    session: RecordedSession, make_brain: MakeBrain, options: ReplayOptions
) -> list[list[Attempt]]:
    """Every repeat replays the whole session as one conversation; attempts per case."""
    first = session.cases[0]
    attempts: list[list[Attempt]] = [[] for _ in session.cases]
    json = JsonCache()
    for _ in range(options.repeat):
        history = session.events[: first.prefix]
        io = _wire(session, first, history, options, recorded=True, json=json)
        brain = await _brain(make_brain, io)
        for index, case in enumerate(session.cases):
            io.load(case)
            attempts[index].append(await _run(io, brain, options))
    return attempts


async def replay(
    sessions: Sequence[RecordedSession],
    make_brain: MakeBrain,
    options: ReplayOptions | None = None,
    *,
    on_case: CaseCallback | None = None,
) -> ReplayReport:
    """Replay every case of ``sessions`` in order; ``on_case`` sees each case's report as it ends."""
    options = options or ReplayOptions()
    started = time.perf_counter()
    reports: list[CaseReport] = []

    def done(report: CaseReport) -> None:
        reports.append(report)
        if on_case is not None:
            on_case(report)

    for session in sessions:
        if options.chained:
            for case, attempts in zip(
                session.cases, await _replay_chained(session, make_brain, options), strict=True
            ):
                done(_report(case, attempts))
            continue
        for case in session.cases:
            done(await replay_case(session, case, make_brain, options))
    cases = tuple(reports)
    return ReplayReport(
        settings=options.describe(),
        cases=cases,
        summary=summarize(cases, seconds=time.perf_counter() - started),
    )
