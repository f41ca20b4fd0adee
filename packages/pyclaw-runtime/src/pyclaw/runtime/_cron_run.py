"""Running one firing of a cron job as an agent turn (``pyclaw cron run`` now, the daemon later).

``mode = "isolated"`` runs in a new session (channel ``cron``); ``mode = "main"`` continues the
agent's cron session, the one with external key ``cron-main:<agent>``, created on first use.
Delivery (``announce``/``webhook``) is ``CronScheduler``'s job (``_cron_loop``): this only runs
and records; ``cron_fire`` is the ``fire`` function the scheduler takes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pyclaw.brain import RunObserver
from pyclaw.meta import ControlEvent, CronJob, RunResult, SessionInfo, format_ts
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._cron_report import idempotency_key, status_text
from pyclaw.runtime._cron_store import CronStore, RunStatusText
from pyclaw.session import SessionExistsError

CHANNEL = "cron"


@dataclass(frozen=True, slots=True)
class CronRunOutcome:
    """A finished firing: the job, its key time, the session it ran in and the run's result."""

    job: CronJob
    scheduled_for: datetime
    session: SessionInfo
    result: RunResult


def main_session_key(agent: str) -> str:
    """The external key of an agent's shared cron session (``mode = "main"``)."""
    return f"cron-main:{agent}"


async def cron_session_id(runtime: AgentRuntime, job: CronJob, agent: str) -> str | None:
    """The session a firing runs in: ``None`` (a new one) for isolated jobs, else the agent's
    cron session, created once."""
    if job.mode == "isolated":
        return None
    sessions = runtime.services.sessions
    key = main_session_key(agent)
    found = await sessions.find_session(key)
    if found is not None:
        return found.id
    try:
        created = await sessions.create_session(
            agent=agent, channel=CHANNEL, external_key=key, title=f"cron ({agent})"
        )
    except SessionExistsError:  # created meanwhile by another process
        again = await sessions.find_session(key)
        if again is None:
            raise
        return again.id
    return created.id


async def run_cron_job(
    runtime: AgentRuntime,
    store: CronStore,
    job: CronJob,
    scheduled_for: datetime,
    *,
    observer: RunObserver | None = None,
) -> CronRunOutcome:
    """Run a claimed (or manually started) firing of ``job`` and record how it ended."""
    db = runtime.services.db
    try:
        hot = await runtime.agent(job.agent)
        session_id = await cron_session_id(runtime, job, hot.profile.name)
        origin = ControlEvent(
            channel=CHANNEL,
            kind="system",
            external_id=idempotency_key(job.name, scheduled_for),
            chat_id=f"cron:{job.name}",
            user_id="cron",
            text=job.prompt,
            data={"job": job.name, "scheduled_for": format_ts(scheduled_for), "mode": job.mode},
        )
        session, result = await runtime.run_turn(
            job.prompt,
            agent=hot.profile.name,
            session_id=session_id,
            channel=CHANNEL,
            origin=origin,
            observer=observer,
        )
    except BaseException as exc:
        status: RunStatusText = "failed" if isinstance(exc, Exception) else "cancelled"
        finish = partial(store.finish, job.name, scheduled_for, status=status, error=str(exc))
        await db.run(finish)
        raise
    finish = partial(
        store.finish,
        job.name,
        scheduled_for,
        status=status_text(result),
        run_id=result.run_id,
        session_id=session.id,
        error=result.error.message if result.error is not None else None,
    )
    await db.run(finish)
    return CronRunOutcome(job, scheduled_for, session, result)


def cron_fire(
    runtime: AgentRuntime, store: CronStore, *, observer: RunObserver | None = None
) -> Callable[[CronJob, datetime], Awaitable[CronRunOutcome]]:
    """The ``fire`` function of a ``CronScheduler``: each firing is ``run_cron_job``."""

    async def fire(job: CronJob, scheduled_for: datetime) -> CronRunOutcome:
        return await run_cron_job(runtime, store, job, scheduled_for, observer=observer)

    return fire
