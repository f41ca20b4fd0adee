"""``CronStore``: jobs in SQLite, config sync, due jobs, coalesced misfires, exactly-once claims."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pyclaw.meta import ConfigError, CronJob, NotFoundError, UsageError
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._cron_store import CronStore
from pyclaw.storage import Database

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)  # a Monday


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
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


def hourly(name: str = "hourly", **fields: object) -> CronJob:
    return CronJob.model_validate(
        {"name": name, "schedule": "0 * * * *", "prompt": "tick", **fields}
    )


def test_add_get_list_remove(store: CronStore) -> None:
    entry = store.add(hourly(timezone="Europe/Berlin"))
    assert entry.source == "cli"
    assert entry.next_fire_at == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # 11:00+02:00
    assert entry.next_fire_at is not None
    assert entry.next_fire_at.utcoffset() == timedelta(hours=2)
    assert entry.last_fire_at is None
    store.add(hourly("another"))
    assert [e.job.name for e in store.list_jobs()] == ["another", "hourly"]
    assert store.get("hourly").job == entry.job
    store.remove("hourly")
    assert [e.job.name for e in store.list_jobs()] == ["another"]
    with pytest.raises(NotFoundError, match="no cron job named 'hourly'"):
        store.remove("hourly")


def test_add_refuses_duplicates_and_bad_schedules(store: CronStore) -> None:
    store.add(hourly())
    with pytest.raises(UsageError, match="already exists"):
        store.add(hourly())
    with pytest.raises(UsageError, match="never fires"):
        store.add(hourly("feb30", schedule="0 0 30 2 *"))
    with pytest.raises(UsageError, match="unknown time zone"):
        store.add(hourly("mars", timezone="Mars/Olympus"))
    assert [e.job.name for e in store.list_jobs()] == ["hourly"]


CONFIG = """
[[cron]]
name = "morning"
schedule = "0 9 * * mon-fri"
timezone = "America/New_York"
prompt = "good morning"

[[cron]]
name = "often"
every = "15m"
prompt = "check"
"""


def test_sync_config_jobs_adds_updates_and_removes(store: CronStore, clock: Clock) -> None:
    report = store.sync_config_jobs(parse_config(CONFIG))
    assert (report.added, report.updated, report.removed) == (("morning", "often"), (), ())
    morning = store.get("morning")
    assert morning.source == "config"
    assert morning.job.agent == "default"
    assert morning.next_fire_at is not None
    assert morning.next_fire_at == datetime(2025, 6, 2, 9, 0, tzinfo=morning.next_fire_at.tzinfo)
    assert str(morning.next_fire_at) == "2025-06-02 09:00:00-04:00"
    often = store.get("often")
    assert often.next_fire_at == T0 + timedelta(minutes=15)

    # Unchanged: nothing happens, even later (the anchor of 'every' stays put).
    clock.advance(minutes=7)
    assert store.sync_config_jobs(parse_config(CONFIG)).updated == ()
    assert store.get("often").next_fire_at == T0 + timedelta(minutes=15)

    # A new prompt keeps the next fire time; a new schedule restarts from now.
    changed = CONFIG.replace('prompt = "check"', 'prompt = "check twice"')
    changed = changed.replace("0 9 * * mon-fri", "30 7 * * *")
    report = store.sync_config_jobs(parse_config(changed))
    assert report.updated == ("morning", "often")
    assert store.get("often").job.prompt == "check twice"
    assert store.get("often").next_fire_at == T0 + timedelta(minutes=15)
    assert str(store.get("morning").next_fire_at) == "2025-06-02 07:30:00-04:00"

    # Dropped from the file: removed.
    report = store.sync_config_jobs(
        parse_config(CONFIG.split("[[cron]]")[1].join(["[[cron]]", ""]))
    )
    assert report.removed == ("often",)
    assert [e.job.name for e in store.list_jobs()] == ["morning"]


def test_config_jobs_cannot_be_removed_and_cli_jobs_win_a_name_clash(store: CronStore) -> None:
    store.add(hourly("often"))
    report = store.sync_config_jobs(parse_config(CONFIG))
    assert report.shadowed == ("often",)
    assert store.get("often").source == "cli"
    with pytest.raises(UsageError, match=r"defined in pyclaw\.toml"):
        store.remove("morning")
    assert store.sync_config_jobs([]).removed == ("morning",)
    assert [e.job.name for e in store.list_jobs()] == ["often"]


def test_sync_refuses_a_config_job_that_never_fires(store: CronStore) -> None:
    never = CronJob(name="never", schedule="0 0 31 4 *", prompt="p")
    with pytest.raises(ConfigError, match="never fires"):
        store.sync_config_jobs([never])
    assert store.list_jobs() == []


def test_due_claim_and_advance(store: CronStore, clock: Clock) -> None:
    store.add(hourly())
    assert store.due_jobs() == []
    assert store.next_wakeup() == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    clock.advance(hours=1, seconds=5)
    (due,) = store.due_jobs()
    assert due.scheduled_for == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    assert due.late_by == timedelta(seconds=5)
    assert store.claim("hourly", due.scheduled_for)
    assert not store.claim("hourly", due.scheduled_for)
    assert store.due_jobs() == []
    entry = store.get("hourly")
    assert entry.last_fire_at == due.scheduled_for
    assert entry.next_fire_at == datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    (run,) = store.runs("hourly")
    assert (run.status, run.trigger, run.finished_at) == ("running", "schedule", None)
    store.finish("hourly", due.scheduled_for, status="succeeded", run_id="run_1", session_id="s")
    (run,) = store.runs("hourly")
    assert (run.status, run.run_id, run.session_id) == ("succeeded", "run_1", "s")
    assert run.finished_at == clock.now


def test_missed_firings_coalesce_into_one(store: CronStore, clock: Clock) -> None:
    store.add(hourly())
    clock.advance(days=2, minutes=30)  # down for two days: 49 fire times missed
    (due,) = store.due_jobs()
    assert due.scheduled_for == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    assert store.claim("hourly", due.scheduled_for)
    assert store.due_jobs() == []
    assert store.get("hourly").next_fire_at == datetime(2025, 6, 4, 9, 0, tzinfo=UTC)
    clock.advance(minutes=30)
    (due,) = store.due_jobs()
    assert due.scheduled_for == datetime(2025, 6, 4, 9, 0, tzinfo=UTC)
    assert len(store.runs()) == 1


def test_claim_refuses_stale_unknown_and_disabled(store: CronStore, clock: Clock) -> None:
    store.add(hourly())
    store.add(hourly("off", enabled=False))
    clock.advance(hours=3)
    assert [d.job.name for d in store.due_jobs()] == ["hourly"]
    assert not store.claim("hourly", datetime(2025, 6, 2, 10, 0, tzinfo=UTC))  # not its next
    assert not store.claim("nobody", datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    assert not store.claim("off", datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    assert store.runs() == []


def test_a_firing_is_claimed_once_even_after_its_schedule_comes_back(
    store: CronStore, clock: Clock
) -> None:
    job = hourly(schedule="0 9 * * *")
    store.sync_config_jobs([job])
    clock.advance(hours=1)
    (due,) = store.due_jobs()
    assert store.claim("hourly", due.scheduled_for)
    # The schedule changes and changes back before 09:00 comes round again: no second run.
    clock.now = T0
    store.sync_config_jobs([job.model_copy(update={"schedule": "0 10 * * *"})])
    store.sync_config_jobs([job])
    clock.advance(hours=1)
    (again,) = store.due_jobs()
    assert again.scheduled_for == due.scheduled_for
    assert not store.claim("hourly", again.scheduled_for)
    assert store.get("hourly").next_fire_at == datetime(2025, 6, 3, 9, 0, tzinfo=UTC)


def test_claim_exactly_once_across_two_stores_on_one_file(tmp_path: Path) -> None:
    clock = Clock(T0)
    path = tmp_path / "shared.db"
    with Database.open(path) as first_db, Database.open(path) as second_db:
        first, second = CronStore(first_db, clock=clock), CronStore(second_db, clock=clock)
        for n in range(20):
            first.add(hourly(f"job{n:02}", schedule="*/5 * * * *"))
        clock.advance(minutes=5)
        due = second.due_jobs()
        assert len(due) == 20
        wins: dict[str, list[str]] = {"first": [], "second": []}
        barrier = threading.Barrier(2)

        def claim_all(label: str, store: CronStore) -> None:
            barrier.wait()
            for item in due:
                if store.claim(item.job.name, item.scheduled_for):
                    wins[label].append(item.job.name)

        threads = [
            threading.Thread(target=claim_all, args=("first", first)),
            threading.Thread(target=claim_all, args=("second", second)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(wins["first"] + wins["second"]) == [f"job{n:02}" for n in range(20)]
        assert len(first.runs(limit=100)) == 20
        assert first.due_jobs() == [] == second.due_jobs()

    # A restart (new connections) sees the claims: nothing runs twice.
    with Database.open(path) as again:
        store = CronStore(again, clock=clock)
        assert store.due_jobs() == []
        for item in due:
            assert not store.claim(item.job.name, item.scheduled_for)
        assert store.mark_interrupted() == 20
        assert {run.status for run in store.runs(limit=100)} == {"interrupted"}


def test_manual_runs_are_recorded(store: CronStore, clock: Clock) -> None:
    store.add(hourly())
    key = store.start_manual("hourly")
    assert key == clock.now
    store.finish("hourly", key, status="failed", error="boom")
    (run,) = store.runs()
    assert (run.trigger, run.status, run.error) == ("manual", "failed", "boom")
    assert store.get("hourly").last_fire_at is None
    with pytest.raises(NotFoundError):
        store.start_manual("nobody")
