"""``CronScheduler`` driven by a fake clock: misfires, DST, backoff, auto-disable, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from pyclaw.meta import (
    CronJob,
    ErrorInfo,
    Message,
    RunResult,
    RunStatus,
    SessionInfo,
)
from pyclaw.runtime._cron_deliver import CronDelivery, DeliveryResult
from pyclaw.runtime._cron_loop import CronScheduler, Deliver, Fire
from pyclaw.runtime._cron_report import CronReport
from pyclaw.runtime._cron_run import CronRunOutcome
from pyclaw.runtime._cron_store import CronStore
from pyclaw.storage import Database

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)  # a Monday


class FakeTime:
    """The scheduler's clock and sleep. Firings take no fake time: a sleep while some run just
    waits for them to end (their end wakes the loop, as in real time); otherwise it moves the
    clock forward (never past ``until``). At ``until`` time stands still and ``reached`` is set."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.until = now
        self.scheduler: CronScheduler | None = None
        self.sleeps: list[float] = []
        self.reached = asyncio.Event()

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert self.scheduler is not None
        if self.scheduler.running:  # firings take no fake time; their end wakes the loop
            await self.scheduler.drain()
            return
        if self.now >= self.until:
            self.reached.set()
            await asyncio.Event().wait()  # until the test cancels the loop
        self.sleeps.append(seconds)
        self.now = min(self.now + timedelta(seconds=seconds), self.until)


class FakeAgent:
    """``fire``: records each call and ends it like ``run_cron_job`` (``store.finish``) with the
    next scripted status ("succeeded" once the script runs out); "raise" raises without
    recording anything, like a crash before the run started."""

    def __init__(self, store: CronStore, time: FakeTime, script: list[str] | None = None) -> None:
        self.store = store
        self.time = time
        self.script = list(script or [])
        self.calls: list[tuple[str, datetime, datetime]] = []

    async def __call__(self, job: CronJob, scheduled_for: datetime) -> CronRunOutcome:
        self.calls.append((job.name, scheduled_for.astimezone(UTC), self.time.now))
        status = self.script.pop(0) if self.script else "succeeded"
        if status == "raise":
            raise RuntimeError("the agent could not start")
        run_id = f"run_{len(self.calls)}"
        error = None if status == "succeeded" else "provider unavailable"
        finish = partial(
            self.store.finish,
            job.name,
            scheduled_for,
            status="succeeded" if status == "succeeded" else "failed",
            run_id=run_id,
            session_id="ses_1",
            error=error,
        )
        await self.store.db.run(finish)
        result = RunResult(
            run_id=run_id,
            status=RunStatus.SUCCEEDED if error is None else RunStatus.FAILED,
            answer=Message.assistant(f"answer {len(self.calls)}") if error is None else None,
            error=None if error is None else ErrorInfo(type="ProviderError", message=error),
        )
        session = SessionInfo(id="ses_1", agent="default", channel="cron", created_at=T0)
        return CronRunOutcome(job, scheduled_for, session, result)

    def fired(self) -> list[datetime]:
        return [when for _, when, _ in self.calls]


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database.open(tmp_path / "pyclaw.db") as database:
        yield database


@pytest.fixture
def store(db: Database, time: FakeTime) -> CronStore:
    return CronStore(db, clock=time)


def job(name: str = "hourly", **fields: object) -> CronJob:
    data = {"name": name, "schedule": "0 * * * *", "prompt": "tick", "deliver": "silent"}
    return CronJob.model_validate({**data, "created_at": T0, **fields})


def on_fake_time(
    store: CronStore,
    time: FakeTime,
    fire: Fire,
    deliver: Deliver | None = None,
    *,
    max_sleep: float = 60.0,
) -> CronScheduler:
    """A scheduler whose clock and sleep are ``time``'s."""
    scheduler = CronScheduler(
        store, fire, deliver, clock=time, sleep=time.sleep, max_sleep=max_sleep
    )
    time.scheduler = scheduler
    return scheduler


async def run_until(scheduler: CronScheduler, time: FakeTime, until: datetime) -> None:
    """Run the scheduler's loop until the fake clock reaches ``until``."""
    time.until = until
    time.reached.clear()
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(time.reached.wait(), timeout=30)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def utc(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hh, mm, ss, tzinfo=UTC)


async def test_three_days_down_runs_once_then_resumes(store: CronStore, time: FakeTime) -> None:
    store.add(job())
    time.now = T0 + timedelta(days=3, minutes=30)  # the daemon was down: 72 firings missed
    agent = FakeAgent(store, time)
    scheduler = on_fake_time(store, time, agent, max_sleep=3600)
    await run_until(scheduler, time, utc(5, 11, 30))
    assert agent.calls == [
        ("hourly", utc(2, 9), utc(5, 8, 30)),  # the first missed firing, once, on start
        ("hourly", utc(5, 9), utc(5, 9)),
        ("hourly", utc(5, 10), utc(5, 10)),
        ("hourly", utc(5, 11), utc(5, 11)),
    ]
    runs = store.runs()
    assert [run.status for run in runs] == ["succeeded"] * 4
    assert store.get("hourly").next_fire_at == utc(5, 12)


async def test_sleeps_are_capped_and_the_clock_is_never_early(
    store: CronStore, time: FakeTime
) -> None:
    store.add(job(schedule="*/7 * * * *"))
    agent = FakeAgent(store, time)
    await run_until(on_fake_time(store, time, agent), time, T0 + timedelta(minutes=30))
    assert agent.fired() == [T0 + timedelta(minutes=m) for m in (7, 14, 21, 28)]
    assert all(fired == now for _, fired, now in agent.calls)
    assert max(time.sleeps) == 60.0
    assert time.sleeps[:2] == [60.0, 60.0]  # 08:00 → 08:07 in steps of at most a minute


@pytest.mark.parametrize(
    ("schedule", "start", "end", "expected"),
    [
        # Spring forward (30 March 2025, 02:00 CET → 03:00 CEST): 02:30 does not exist that
        # day, so the job runs at 03:00 CEST (01:00 UTC) — once.
        (
            "30 2 * * *",
            utc(29, 0, month=3),
            utc(31, 23, month=3),
            [utc(29, 1, 30, month=3), utc(30, 1, 0, month=3), utc(31, 0, 30, month=3)],
        ),
        # Fall back (26 October 2025, 03:00 CEST → 02:00 CET): 02:30 happens twice; a
        # fixed-time job runs at the first one only.
        (
            "30 2 * * *",
            utc(25, 0, month=10),
            utc(27, 23, month=10),
            [utc(25, 0, 30, month=10), utc(26, 0, 30, month=10), utc(27, 1, 30, month=10)],
        ),
        # An hourly (wildcard) job runs every real hour: 25 times on the 25-hour day.
        (
            "0 * * * *",
            utc(25, 21, 30, month=10),
            utc(26, 22, 30, month=10),
            [utc(25, 22, month=10) + timedelta(hours=h) for h in range(25)],
        ),
    ],
)
async def test_dst_days_in_berlin(
    store: CronStore,
    time: FakeTime,
    schedule: str,
    start: datetime,
    end: datetime,
    expected: list[datetime],
) -> None:
    time.now = start
    store.add(job(schedule=schedule, timezone="Europe/Berlin", created_at=start))
    agent = FakeAgent(store, time)
    await run_until(on_fake_time(store, time, agent, max_sleep=3600), time, end)
    assert agent.fired() == expected
    assert all(fired == now for _, fired, now in agent.calls)  # each exactly on time


async def test_failures_back_off_then_disable_and_announce_twice(
    store: CronStore, time: FakeTime
) -> None:
    store.add(job(deliver="announce", target="telegram:42"))
    sent: list[tuple[str | None, str, str]] = []

    async def announce(target: str | None, text: str, key: str) -> None:
        sent.append((target, text, key))

    agent = FakeAgent(store, time, ["failed"] * 5)
    scheduler = on_fake_time(store, time, agent, CronDelivery(announce=announce))
    await run_until(scheduler, time, utc(2, 12))
    # 09:00 fails; retries 30 s, 1 min, 5 min and 15 min after each failure; the 5th failure
    # disables the job, so 10:00, 11:00 and 12:00 do not run.
    assert agent.fired() == [utc(2, 9), utc(2, 9, 0, 30), utc(2, 9, 1, 30), utc(2, 9, 6, 30),
                             utc(2, 9, 21, 30)]  # fmt: skip
    entry = store.get("hourly")
    assert (entry.job.enabled, entry.consecutive_failures) == (False, 5)
    assert entry.disabled_reason == "5 consecutive failures; last: provider unavailable"
    runs = list(reversed(store.runs()))
    assert [run.attempt for run in runs] == [1, 2, 3, 4, 5]
    assert [run.delivery for run in runs] == ["delivered"] + ["skipped"] * 3 + ["delivered"]
    # Announced: the first failure and the one that disabled the job, not every retry.
    assert [(target, key) for target, _, key in sent] == [
        ("telegram:42", "cron:hourly:2025-06-02T09:00:00.000000+00:00"),
        ("telegram:42", "cron:hourly:2025-06-02T09:21:30.000000+00:00"),
    ]
    assert sent[0][1] == "Cron job 'hourly' failed: provider unavailable"
    assert sent[1][1].endswith(
        "It is now disabled after 5 failures in a row; 'pyclaw cron enable hourly' turns it "
        "back on."
    )

    # Enabled again: back on schedule from the next regular time, answers announced.
    store.enable("hourly")
    await run_until(scheduler, time, utc(2, 14))
    assert agent.fired()[5:] == [utc(2, 13), utc(2, 14)]
    assert [text for _, text, _ in sent[2:]] == ["answer 6", "answer 7"]
    assert store.get("hourly").consecutive_failures == 0


async def test_a_success_resets_the_backoff(store: CronStore, time: FakeTime) -> None:
    store.add(job())
    agent = FakeAgent(store, time, ["failed", "succeeded", "failed", "failed"])
    await run_until(on_fake_time(store, time, agent), time, utc(2, 10, 5))
    # 09:00 fails → 09:00:30 succeeds → 10:00 fails → retry 30 s later (not 1 min) → fails
    # → next retry 1 min later.
    assert agent.fired() == [utc(2, 9), utc(2, 9, 0, 30), utc(2, 10), utc(2, 10, 0, 30),
                             utc(2, 10, 1, 30)]  # fmt: skip
    assert store.get("hourly").consecutive_failures == 0  # 10:01:30 succeeded


async def test_a_firing_that_raises_is_recorded_failed_and_the_loop_goes_on(
    store: CronStore, time: FakeTime
) -> None:
    store.add(job("broken", schedule="*/10 * * * *"))
    store.add(job("fine", schedule="*/10 * * * *"))
    agent = FakeAgent(store, time, ["raise", "succeeded"])
    await run_until(on_fake_time(store, time, agent), time, utc(2, 8, 20))
    broken = [run for run in store.runs() if run.job_name == "broken"]
    assert broken[-1].status == "failed"
    assert broken[-1].error == "the agent could not start"
    assert [name for name, _, _ in agent.calls].count("fine") == 2  # 08:10 and 08:20
    assert store.get("broken").consecutive_failures == 0  # 08:10:30 retry and 08:20 succeeded
    assert len(broken) == 3


async def test_no_overlap_and_bounded_concurrency(store: CronStore, time: FakeTime) -> None:
    for name in ("a", "b", "c"):
        store.add(job(name, schedule="* * * * *"))
    release = asyncio.Event()
    started: list[str] = []

    async def slow_fire(job: CronJob, scheduled_for: datetime) -> CronRunOutcome:
        started.append(job.name)
        await release.wait()
        raise RuntimeError("stopped")

    scheduler = CronScheduler(store, slow_fire, max_concurrency=2)
    time.now = utc(2, 8, 1)
    assert await scheduler.tick() == ["a", "b"]
    time.now = utc(2, 8, 2)  # 'a' and 'b' are due again while running; 'c' still waits
    assert await scheduler.tick() == []
    assert scheduler.running == {"a", "b"}
    release.set()
    await scheduler.drain()
    # 'c' has waited longest; the backlog of 'a' and 'b' is one firing each.
    assert await scheduler.tick() == ["c", "a"]
    await scheduler.drain()
    assert await scheduler.tick() == ["b"]
    await scheduler.drain()
    assert started == ["a", "b", "c", "a", "b"]
    runs = store.runs(limit=10)
    assert sorted((run.job_name, run.scheduled_for.minute) for run in runs) == [
        ("a", 1), ("a", 2), ("b", 1), ("b", 2), ("c", 1)
    ]  # fmt: skip


async def test_wake_picks_up_a_new_job_at_once(store: CronStore, time: FakeTime) -> None:
    slept: list[float] = []
    napping = asyncio.Event()

    async def long_sleep(seconds: float) -> None:
        slept.append(seconds)
        napping.set()
        await asyncio.Event().wait()

    agent = FakeAgent(store, time)
    scheduler = CronScheduler(store, agent, sleep=long_sleep)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(napping.wait(), 10)
        assert slept == [60.0]  # no jobs: the longest nap
        napping.clear()
        store.add(job(schedule=None, every_seconds=1, created_at=T0 - timedelta(seconds=1)))
        time.now = T0 + timedelta(seconds=1.5)
        scheduler.wake()
        await asyncio.wait_for(napping.wait(), 10)  # it fired, then napped again
        await scheduler.drain()
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert agent.fired() == [T0 + timedelta(seconds=1)]
    assert [run.status for run in store.runs()] == ["succeeded"]


async def test_cancelling_the_loop_cancels_running_firings(
    store: CronStore, time: FakeTime
) -> None:
    store.add(job())
    time.now = utc(2, 9)
    entered = asyncio.Event()

    async def hang(job: CronJob, scheduled_for: datetime) -> CronRunOutcome:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            finish = partial(store.finish, job.name, scheduled_for, status="cancelled")
            await store.db.run(finish)
            raise
        raise AssertionError("unreachable")

    task = asyncio.create_task(CronScheduler(store, hang).run())
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    (run,) = store.runs()
    assert run.status == "cancelled"
    assert store.get("hourly").consecutive_failures == 0


async def test_a_failed_delivery_is_recorded_but_is_not_a_job_failure(
    store: CronStore, time: FakeTime
) -> None:
    store.add(job(deliver="announce"))

    async def refuse(report: CronReport) -> DeliveryResult:
        assert report.answer == "answer 1"
        return DeliveryResult("failed", "chat not found")

    agent = FakeAgent(store, time)
    await run_until(on_fake_time(store, time, agent, refuse), time, utc(2, 9, 30))
    (run,) = store.runs()
    assert (run.status, run.delivery, run.delivery_error) == (
        "succeeded",
        "failed",
        "chat not found",
    )
    assert store.get("hourly").consecutive_failures == 0
