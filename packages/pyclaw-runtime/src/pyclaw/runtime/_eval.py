"""The work behind ``pyclaw eval``: replaying recorded sessions, running suites, exporting and
importing session bundles. Replays read the home's sessions and never write into them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import JsonValue

from pyclaw.eval import (
    AnswerJudge,
    CaseCallback,
    RecordedSession,
    ReplayOptions,
    ReplayReport,
    export_bundle,
    import_bundle,
    load_suite,
    read_bundle,
    read_report,
    read_session,
    replay,
    run_suite,
    with_baseline,
)
from pyclaw.meta import SessionInfo, SessionNotFoundError, UsageError
from pyclaw.runtime._agents import AgentRuntime, build_redactor
from pyclaw.runtime._config_load import load_config
from pyclaw.runtime._eval_judge import answer_judge, open_judge_client
from pyclaw.runtime._eval_wiring import ModelChoice, ReplayWiring
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_services, secret_store


@dataclass
class ReplayRequest:
    """What ``pyclaw eval replay`` was asked to do."""

    session_ids: Sequence[str]
    options: ReplayOptions
    agent: str | None = None
    choice: ModelChoice | None = None
    baseline: Path | None = None
    judge: str | None = None
    """``--judge``: the Cortensor router asked about every replayed answer (``_eval_judge``)."""
    judge_criteria: str = ""


@asynccontextmanager
async def opened_judge(
    rt: AgentRuntime, name: str | None, criteria: str = ""
) -> AsyncGenerator[AnswerJudge | None]:
    """The ``AnswerJudge`` on router ``name`` (``None``: no judge), closed on exit."""
    if name is None:
        yield None
        return
    client = open_judge_client(rt, name)
    try:
        yield answer_judge(client, rt, criteria)
    finally:
        await client.aclose()


async def load_recorded(rt: AgentRuntime, session_id: str, agent: str | None) -> RecordedSession:
    """A recorded session of the home, its cases run by ``agent`` (default: the agent that
    recorded it when it is still configured, else the default agent)."""
    try:
        info = await rt.services.sessions.get_session(session_id)
    except SessionNotFoundError:
        raise UsageError(f"no session {session_id} in {rt.home.root}") from None
    events = await rt.services.sessions.read(session_id)
    name = agent or (info.agent if info.agent in rt.config.agents else None)
    profile = rt.config.agent_profile(name)
    return read_session(session_id, events, agent=profile.name)


async def replay_sessions(
    home: PyClawHome,
    request: ReplayRequest,
    *,
    on_case: CaseCallback | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Replay the sessions (``UsageError`` for an unknown one, before any replay starts)."""
    baseline = read_report(request.baseline) if request.baseline is not None else None
    config = load_config(home.config_path)
    async with (
        AgentRuntime.open(home, config) as rt,
        opened_judge(rt, request.judge, request.judge_criteria) as judge,
    ):
        sessions = [await load_recorded(rt, sid, request.agent) for sid in request.session_ids]
        if on_total is not None:
            on_total(sum(len(s.cases) for s in sessions) * request.options.repeat)
        choice = request.choice or ModelChoice()
        wiring = ReplayWiring(rt, strict=request.options.strict, choice=choice)
        options = replace(request.options, judge=judge)
        try:
            report = await replay(sessions, wiring, options, on_case=on_case)
        finally:
            await wiring.aclose()
    settings = {**report.settings, "provider": (request.choice or ModelChoice()).provider}
    report = report.model_copy(update={"settings": settings})
    if baseline is not None and request.baseline is not None:
        report = with_baseline(report, baseline, str(request.baseline))
    return report


async def run_suite_file(
    home: PyClawHome,
    path: Path,
    *,
    choice: ModelChoice | None,
    on_case: CaseCallback | None = None,
    judge: str | None = None,
    judge_criteria: str = "",
) -> ReplayReport:
    """Run a suite file against this home's sessions and agents (``judge``: as ``--judge``)."""
    suite = load_suite(path)
    config = load_config(home.config_path)
    async with (
        AgentRuntime.open(home, config) as rt,
        opened_judge(rt, judge, judge_criteria) as answers,
    ):
        wiring = ReplayWiring(rt, strict=suite.strict, choice=choice or ModelChoice())

        async def load(session_id: str) -> RecordedSession:
            return await load_recorded(rt, session_id, suite.agent)

        try:
            return await run_suite(
                suite,
                load_session=load,
                make_brain=wiring,
                default_agent=rt.config.agent_profile(None).name,
                on_case=on_case,
                judge=answers,
            )
        finally:
            await wiring.aclose()


async def export_session_bundle(home: PyClawHome, session_id: str) -> dict[str, JsonValue]:
    """The session as a portable bundle, every string through this home's secret redactor."""
    config = load_config(home.config_path)
    redactor = await asyncio.to_thread(build_redactor, config, secret_store(home))
    with open_services(home) as s:
        try:
            info = await s.sessions.get_session(session_id)
        except SessionNotFoundError:
            raise UsageError(f"no session {session_id} in {home.root}") from None
        events = await s.sessions.read(session_id)
    return export_bundle(info, events, redactor=redactor)


async def import_session_bundle(home: PyClawHome, path: Path, *, agent: str | None) -> SessionInfo:
    """Import a bundle file as a new session of this home; returns it."""
    data = read_bundle(path)
    with open_services(home) as s:
        return await import_bundle(data, s.sessions, agent=agent)
