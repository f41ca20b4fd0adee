"""Failure tracking in ``CronStore``: backoff retries, auto-disable, enable/disable, the migration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pyclaw.meta import CronJob, UsageError
from pyclaw.runtime._cron_failures import CronFailurePolicy
from pyclaw.runtime._cron_schema import CRON_MIGRATIONS
from pyclaw.runtime._cron_store import CronStore, RunStatusText
from pyclaw.storage import Database, Migrations

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database.open(tmp_path / "pyclaw.db") as database:
        yield database


@pytest.fixture
def store(db: Database, clock: Clock) -> CronStore:
    return CronStore(db, clock=clock)


def job(name: str = "hourly", **fields: object) -> CronJob:
    data = {"name": name, "schedule": "0 * * * *", "prompt": "tick", "created_at": T0}
    return CronJob.model_validate({**data, **fields})


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 2) -> datetime:
    return datetime(2025, 6, day, hh, mm, ss, tzinfo=UTC)


def fire_next(
    store: CronStore, clock: Clock, status: RunStatusText, *, took: float = 0.0
) -> datetime:
    """Jump to the job's next fire time, claim it, let it run ``took`` seconds, finish it."""
    (entry,) = store.list_jobs()
    assert entry.next_fire_at is not None
    clock.now = entry.next_fire_at
    (due,) = store.due_jobs()
    assert store.claim(due.job.name, due.scheduled_for)
    clock.now += timedelta(seconds=took)
    assert store.finish(due.job.name, due.scheduled_for, status=status, error="model down")
    return due.scheduled_for.astimezone(UTC)


def test_failures_back_off_then_disable_and_enable_resets(store: CronStore, clock: Clock) -> None:
    store.add(job())
    fired = [fire_next(store, clock, "failed", took=10) for _ in range(4)]
    # 09:00 runs 10 s and fails: retry 30 s after the end, then 1 min, 5 min, 15 min.
    assert fired == [at(9), at(9, 0, 40), at(9, 1, 50), at(9, 7, 0)]
    entry = store.get("hourly")
    assert (entry.consecutive_failures, entry.job.enabled) == (4, True)
    assert entry.retry_at == entry.next_fire_at == at(9, 22, 10)
    assert [run.attempt for run in store.runs()] == [4, 3, 2, 1]

    fire_next(store, clock, "failed")  # the 5th in a row
    entry = store.get("hourly")
    assert (entry.job.enabled, entry.consecutive_failures, entry.retry_at) == (False, 5, None)
    assert entry.disabled_reason == "5 consecutive failures; last: model down"
    assert store.next_wakeup() is None
    clock.now = at(12)
    assert store.due_jobs() == []

    entry = store.enable("hourly")
    assert (entry.job.enabled, entry.consecutive_failures, entry.disabled_reason) == (True, 0, None)
    assert entry.next_fire_at == at(13)  # the missed 10:00-12:00 firings are not made up
    assert store.enable("hourly") == entry  # already on: nothing changes


def test_a_retry_never_comes_after_the_next_regular_time(store: CronStore, clock: Clock) -> None:
    store.add(job("often", schedule=None, every_seconds=120))
    fired = [fire_next(store, clock, "failed") for _ in range(4)]
    # Every 2 min from 08:00: 08:02 fails → retry 08:02:30 → fails → retry 08:03:30 → fails →
    # a 5 min backoff would pass 08:04, so 08:04 (the regular time) is the next attempt.
    assert fired == [at(8, 2), at(8, 2, 30), at(8, 3, 30), at(8, 4)]
    assert store.get("often").retry_at is None


def test_success_resets_and_other_endings_do_not_count(store: CronStore, clock: Clock) -> None:
    store.add(job())
    fire_next(store, clock, "failed")
    fire_next(store, clock, "cancelled")  # the retry at 09:00:30, stopped by hand
    entry = store.get("hourly")
    assert (entry.consecutive_failures, entry.next_fire_at) == (1, at(10))
    clock.now = at(9, 10)
    key = store.start_manual("hourly")
    store.finish("hourly", key, status="failed", error="by hand")
    assert store.get("hourly").consecutive_failures == 1  # manual runs do not count
    fire_next(store, clock, "succeeded")
    entry = store.get("hourly")
    assert (entry.consecutive_failures, entry.retry_at, entry.next_fire_at) == (0, None, at(11))
    fire_next(store, clock, "failed")
    assert store.get("hourly").retry_at == at(11, 0, 30)  # the backoff starts over


def test_finish_counts_a_firing_once(store: CronStore, clock: Clock) -> None:
    store.add(job())
    when = fire_next(store, clock, "failed")
    assert not store.finish("hourly", when, status="failed", error="again")
    assert store.get("hourly").consecutive_failures == 1
    (run,) = store.runs()
    assert run.error == "model down"


def test_policy_is_configurable(db: Database, clock: Clock) -> None:
    store = CronStore(db, clock=clock, policy=CronFailurePolicy(backoff=(5.0,), max_failures=3))
    store.add(job())
    fired = [fire_next(store, clock, "failed") for _ in range(3)]
    assert fired == [at(9), at(9, 0, 5), at(9, 0, 10)]
    assert store.get("hourly").disabled_reason == "3 consecutive failures; last: model down"

    never = CronStore(db, clock=clock, policy=CronFailurePolicy(max_failures=0))
    never.enable("hourly")
    for _ in range(8):
        fire_next(never, clock, "failed")
    entry = never.get("hourly")
    assert (entry.job.enabled, entry.consecutive_failures) == (True, 8)
    with pytest.raises(ValueError, match="at least one delay"):
        CronFailurePolicy(backoff=())
    with pytest.raises(ValueError, match="greater than zero"):
        CronFailurePolicy(backoff=(30.0, 0.0))
    with pytest.raises(ValueError, match="max_failures"):
        CronFailurePolicy(max_failures=-1)


def test_disable_by_hand_and_add_over_a_disabled_job(store: CronStore, clock: Clock) -> None:
    store.add(job())
    entry = store.disable("hourly")
    assert (entry.job.enabled, entry.disabled_reason) == (
        False,
        "disabled with 'pyclaw cron disable'",
    )
    clock.now = at(10, 30)
    assert store.due_jobs() == []
    # Adding the name again replaces the disabled job and turns it on.
    entry = store.add(job(prompt="tock", schedule="15 * * * *"))
    assert (entry.job.enabled, entry.job.prompt, entry.next_fire_at) == (True, "tock", at(11, 15))
    with pytest.raises(UsageError, match="already exists"):
        store.add(job())


def test_a_disabled_config_job_is_enabled_not_replaced(store: CronStore) -> None:
    store.sync_config_jobs([job("digest")])
    store.disable("digest", "5 consecutive failures; last: x")
    with pytest.raises(UsageError, match=r"defined in pyclaw\.toml and disabled") as caught:
        store.add(job("digest"))
    assert caught.value.hint == "'pyclaw cron enable digest' turns it back on"
    store.sync_config_jobs([job("digest", prompt="changed")])  # config edits keep it disabled
    assert not store.get("digest").job.enabled
    assert store.enable("digest").job.prompt == "changed"


def test_delivery_is_recorded_on_the_firing(store: CronStore, clock: Clock) -> None:
    store.add(job())
    when = fire_next(store, clock, "succeeded")
    store.record_delivery("hourly", when, "failed", "webhook http://127.0.0.1:9: HTTP 500")
    (run,) = store.runs()
    assert (run.delivery, run.delivery_error) == ("failed", "webhook http://127.0.0.1:9: HTTP 500")
    assert store.get("hourly").consecutive_failures == 0  # not a failure of the job


def test_migration_2_upgrades_a_version_1_database(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "old.db"
    first = next(iter(CRON_MIGRATIONS))
    assert first.version == 1
    only_v1 = Migrations("cron")
    only_v1.migration(1, first.name)(first.fn)
    with Database.open(path, migrations=[only_v1]) as old:
        old_store_rows = old.conn.execute("PRAGMA table_info(cron_jobs)").fetchall()
        assert "consecutive_failures" not in {row[1] for row in old_store_rows}
        old.conn.execute(
            "INSERT INTO cron_jobs (name, job, source, enabled, next_fire_at, created_at, "
            "updated_at) VALUES ('kept', ?, 'cli', 1, '2025-06-02T09:00:00.000000+00:00', "
            "'2025-06-02T08:00:00.000000+00:00', '2025-06-02T08:00:00.000000+00:00')",
            (job("kept").model_dump_json(),),
        )
        old.conn.commit()
    with Database.open(path) as db:
        store = CronStore(db, clock=clock)
        assert db.schema_versions()["cron"] == 2
        entry = store.get("kept")
        assert (entry.consecutive_failures, entry.disabled_reason, entry.retry_at) == (
            0,
            None,
            None,
        )
        assert entry.next_fire_at == at(9)
        fire_next(store, clock, "failed")
        assert store.get("kept").consecutive_failures == 1
