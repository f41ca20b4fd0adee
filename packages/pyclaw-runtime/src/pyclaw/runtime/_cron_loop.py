"""``CronScheduler``: the asyncio service that fires due cron jobs and delivers their outcomes.

``await scheduler.run()`` loops until cancelled::

    claim every due job (CronStore.claim: once per firing, missed firings coalesced into one)
    and start it as a task: fire(job, scheduled_for) → CronStore.finish → deliver → record
    sleep until the next fire time (at most ``max_sleep``), or until ``wake()`` / a firing ends

A job never overlaps itself: while one of its firings runs, it stays due and is claimed when
that firing ends (so a backlog coalesces into one firing). At most ``max_concurrency`` firings
run at once; the rest wait, due, for a free slot. ``clock`` and ``sleep`` are injectable, so
tests move time by hand. Every database call goes through ``db.run`` (the DB worker thread).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from pyclaw.meta import CronJob
from pyclaw.runtime._cron_deliver import DeliveryResult
from pyclaw.runtime._cron_failures import one_line
from pyclaw.runtime._cron_firings import DueJob
from pyclaw.runtime._cron_report import CronReport
from pyclaw.runtime._cron_rows import CronJobNotFoundError

if TYPE_CHECKING:
    from pyclaw.runtime._cron_run import CronRunOutcome
    from pyclaw.runtime._cron_store import CronStore

Fire = Callable[[CronJob, datetime], Awaitable["CronRunOutcome"]]
"""Runs one claimed firing and records its end (``run_cron_job``; see ``cron_fire``)."""
Deliver = Callable[[CronReport], Awaitable[DeliveryResult]]
"""Delivers a finished firing (a ``CronDelivery``)."""
Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("pyclaw.runtime.cron")
_LATE = timedelta(minutes=1)


class CronScheduler:
    """Fires the jobs of a ``CronStore`` on time, at most ``max_concurrency`` at once."""

    def __init__(
        self,
        store: CronStore,
        fire: Fire,
        deliver: Deliver | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Sleep = asyncio.sleep,
        max_concurrency: int = 4,
        max_sleep: float = 60.0,
    ) -> None:
        """``clock`` defaults to the store's; ``deliver=None`` records nothing as delivered."""
        if max_concurrency < 1 or max_sleep <= 0:
            raise ValueError("max_concurrency must be at least 1 and max_sleep positive")
        self.store = store
        self._fire = fire
        self._deliver = deliver
        self._clock = clock or store.clock
        self._sleep = sleep
        self.max_concurrency = max_concurrency
        self.max_sleep = max_sleep
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def running(self) -> frozenset[str]:
        """Names of the jobs with a firing in progress."""
        return frozenset(self._tasks)

    def wake(self) -> None:
        """Look at the jobs again now (call it after adding, changing or enabling one)."""
        self._wake.set()

    async def run(self) -> None:
        """Fire due jobs until cancelled; firings still running are then cancelled (and recorded
        as such). Firings a dead process left ``running`` are first marked ``interrupted``."""
        db = self.store.db
        stale = await db.run(self.store.mark_interrupted)
        if stale:
            log.warning("cron: %d firing(s) left running by a previous process: interrupted", stale)
        try:
            while True:
                self._wake.clear()
                try:
                    now = self._clock()
                    await self.tick(now)
                    delay = await self._delay(now)
                except Exception:
                    log.exception("cron: scheduler pass failed; trying again shortly")
                    delay = min(self.max_sleep, 5.0)
                await self._pause(delay)
        finally:
            await self._cancel_firings()

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Claim and start every due job that may start now; the names started."""
        moment = now or self._clock()
        started: list[str] = []
        for due in await self.store.db.run(self.store.due_jobs, moment):
            name = due.job.name
            if name in self._tasks:
                continue
            if len(self._tasks) >= self.max_concurrency:
                break
            if await self._claim(due, moment):
                task = asyncio.create_task(self._run_firing(due), name=f"cron:{name}")
                self._tasks[name] = task
                task.add_done_callback(partial(self._firing_done, name))
                started.append(name)
        return started

    async def drain(self) -> None:
        """Wait until no firing is running (new ones may start meanwhile if ``run`` goes on)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def _claim(self, due: DueJob, now: datetime) -> bool:
        name = due.job.name
        claim = partial(self.store.claim, name, due.scheduled_for, now=now)
        try:
            claimed = await self.store.db.run(claim)
        except (ValueError, ArithmeticError) as exc:  # a schedule that cannot go on
            reason = one_line(f"cannot be scheduled: {exc}")
            log.error("cron job %r %s; disabling it", name, reason)
            await self.store.db.run(partial(self.store.disable, name, reason))
            return False
        if claimed and due.late_by > _LATE:
            log.info("cron job %r runs %s late (missed firings coalesced)", name, due.late_by)
        return claimed

    async def _delay(self, now: datetime) -> float:
        if len(self._tasks) >= self.max_concurrency:
            return self.max_sleep  # a firing that ends wakes the loop
        upcoming = partial(self.store.next_wakeup, exclude=tuple(self._tasks))
        moment = await self.store.db.run(upcoming)
        if moment is None:
            return self.max_sleep
        return min(max((moment - now).total_seconds(), 0.0), self.max_sleep)

    async def _pause(self, delay: float) -> None:
        if delay <= 0 or self._wake.is_set():
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
        if sleeper.done() and not sleeper.cancelled():
            sleeper.result()  # an injected sleep that failed

    def _firing_done(self, name: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(name) is task:
            del self._tasks[name]
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("cron job %r: firing crashed", name, exc_info=task.exception())

    async def _run_firing(self, due: DueJob) -> None:
        job, when = due.job, due.scheduled_for
        store, db = self.store, self.store.db
        try:
            report = CronReport.from_outcome(await self._fire(job, when))
        except Exception as exc:  # noqa: BLE001 - recorded as a failed firing; the loop goes on
            log.warning("cron job %r failed: %s", job.name, one_line(str(exc)))
            report = CronReport.from_error(job, when, exc)
        # ``fire`` normally closed the firing already; if it did not, close it now (a no-op
        # otherwise, so the failure is counted once).
        close = partial(
            store.finish,
            job.name,
            when,
            status=report.status,
            run_id=report.run_id,
            session_id=report.session_id,
            error=report.error,
        )
        await db.run(close)
        report = await self._with_job_state(report)
        if self._deliver is None:
            return
        result = await self._deliver(report)
        await db.run(partial(store.record_delivery, job.name, when, result.status, result.error))

    async def _with_job_state(self, report: CronReport) -> CronReport:
        try:
            entry = await self.store.db.run(self.store.get, report.job.name)
        except CronJobNotFoundError:  # removed while it ran
            return report
        disabled = report.status == "failed" and not entry.job.enabled
        return replace(
            report,
            consecutive_failures=entry.consecutive_failures,
            disabled_reason=entry.disabled_reason if disabled else None,
        )

    async def _cancel_firings(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
