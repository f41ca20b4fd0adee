"""What ``pyclaw cron …`` does, apart from parsing flags and printing (``_cli_cron``)."""

from __future__ import annotations

import sys
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from datetime import datetime

from pydantic import ValidationError

from pyclaw.meta import CronJob, UsageError, utcnow
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._chat import TerminalObserver, terminal_presenter
from pyclaw.runtime._config import CronConfig, PyClawConfig
from pyclaw.runtime._config_load import load_config
from pyclaw.runtime._cron_rows import CronEntry, CronRun
from pyclaw.runtime._cron_run import CronRunOutcome, run_cron_job
from pyclaw.runtime._cron_store import CronStore
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_database

_FLAGS = {"name": "--name", "schedule": "--schedule", "every": "--every", "timezone": "--timezone"}
_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


@contextmanager
def open_store(home: PyClawHome) -> Generator[tuple[CronStore, PyClawConfig]]:
    """The home's cron store with the ``[[cron]]`` entries of its config synced in."""
    config = load_config(home.config_path)
    with open_database(home) as db:
        store = CronStore(db)
        report = store.sync_config_jobs(config)
        for name in report.shadowed:
            print(
                f"warning: [[cron]] {name!r} in pyclaw.toml is ignored: a job added with "
                f"'pyclaw cron add' has that name (pyclaw cron rm {name} to use the config's)",
                file=sys.stderr,
            )
        yield store, config


def job_from_flags(fields: Mapping[str, str | None], config: PyClawConfig) -> CronJob:
    """Validate ``pyclaw cron add`` flags exactly as a ``[[cron]]`` entry; ``UsageError`` if bad."""
    given = {key: value for key, value in fields.items() if value is not None}
    try:
        entry = CronConfig.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _FLAGS.get(str(first["loc"][0]) if first["loc"] else "", "")
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "string_pattern_mismatch":
            message = (
                f"{first['input']!r} is not a valid name (letters, digits, '_', '.', '-'; 1-64)"
            )
        raise UsageError(f"{where}: {message}" if where else message) from None
    if entry.agent is not None and entry.agent not in config.agents:
        raise UsageError(
            f"unknown agent {entry.agent!r}", hint=f"one of {', '.join(config.agents)}"
        )
    if entry.every is not None and entry.every < 1:
        raise UsageError("--every: the interval must be at least 1s")
    return CronJob(
        name=entry.name,
        schedule=entry.schedule,
        every_seconds=entry.every,
        timezone=entry.timezone,
        agent=entry.agent or config.default_agent,
        prompt=entry.prompt,
        mode=entry.mode,
        deliver=entry.deliver,
        target=entry.target,
        created_at=utcnow().replace(microsecond=0),
    )


def add_job(home: PyClawHome, fields: Mapping[str, str | None]) -> CronEntry:
    with open_store(home) as (store, config):
        return store.add(job_from_flags(fields, config), source="cli")


def list_jobs(home: PyClawHome) -> list[CronEntry]:
    with open_store(home) as (store, _):
        return store.list_jobs()


def remove_job(home: PyClawHome, name: str) -> CronEntry:
    with open_store(home) as (store, _):
        return store.remove(name)


def set_enabled(home: PyClawHome, name: str, *, enabled: bool) -> CronEntry:
    """``pyclaw cron enable|disable NAME``."""
    with open_store(home) as (store, _):
        return store.enable(name) if enabled else store.disable(name)


def job_runs(home: PyClawHome, name: str | None, limit: int) -> list[CronRun]:
    """``pyclaw cron history [NAME]``: recorded firings, newest first."""
    with open_store(home) as (store, _):
        if name is not None:
            store.get(name)  # an unknown name is an error, not an empty history
        return store.runs(name, limit=limit)


async def run_job_now(
    home: PyClawHome, name: str, *, interactive: bool, verbose: bool
) -> CronRunOutcome:
    """Run job ``name`` now in this process (a ``manual`` firing) and return how it went."""
    with open_store(home) as (store, config):
        job = store.get(name).job
    ref: list[AgentRuntime] = []
    present = terminal_presenter(ref, interactive=interactive)
    async with AgentRuntime.open(home, config, present=present) as runtime:
        ref.append(runtime)
        db = runtime.services.db
        store = await db.run(CronStore, db)
        scheduled_for = await db.run(store.start_manual, name)
        return await run_cron_job(
            runtime, store, job, scheduled_for, observer=TerminalObserver(verbose=verbose)
        )


def format_every(seconds: float) -> str:
    """``5400`` → ``1h30m``; ``30`` → ``30s``; ``90061`` → ``1d1h1m1s``."""
    rest = round(seconds, 3)
    parts: list[str] = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{int(count)}{unit}")
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)


def schedule_text(job: CronJob) -> str:
    if job.schedule is not None:
        return job.schedule
    return f"every {format_every(job.every_seconds or 0)}"


def next_run_text(entry: CronEntry, now: datetime | None = None) -> str:
    if not entry.job.enabled:
        return "disabled"
    if entry.next_fire_at is None:
        return "-"
    text = entry.next_fire_at.isoformat(sep=" ", timespec="seconds")
    if entry.retry_at is not None:
        text = f"{text} (retry)"
    return f"{text} (due)" if entry.is_due(now or utcnow()) else text


def state_text(entry: CronEntry) -> str:
    """``ok``, ``failing (2)`` or ``disabled: <reason>`` for ``pyclaw cron list``."""
    if not entry.job.enabled:
        return f"disabled: {entry.disabled_reason or 'disabled'}"
    if entry.consecutive_failures:
        return f"failing ({entry.consecutive_failures})"
    return "ok"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def entry_json(entry: CronEntry, now: datetime | None = None) -> dict[str, object]:
    """What ``pyclaw cron list --json`` prints for one job (times in the job's time zone)."""
    job = entry.job
    return {
        "name": job.name,
        "schedule": job.schedule,
        "every": None if job.every_seconds is None else format_every(job.every_seconds),
        "every_seconds": job.every_seconds,
        "timezone": job.timezone,
        "next_run": _iso(entry.next_fire_at) if job.enabled else None,
        "last_run": _iso(entry.last_fire_at),
        "due": entry.is_due(now or utcnow()),
        "agent": job.agent,
        "prompt": job.prompt,
        "mode": job.mode,
        "deliver": job.deliver,
        "target": job.target,
        "enabled": job.enabled,
        "consecutive_failures": entry.consecutive_failures,
        "retry_at": _iso(entry.retry_at),
        "disabled_reason": entry.disabled_reason,
        "source": entry.source,
        "created_at": entry.created_at.isoformat(),
    }


def run_json(run: CronRun) -> dict[str, object]:
    """What ``pyclaw cron history --json`` prints for one firing."""
    return {
        "name": run.job_name,
        "scheduled_for": run.scheduled_for.isoformat(),
        "trigger": run.trigger,
        "attempt": run.attempt,
        "started_at": run.started_at.isoformat(),
        "finished_at": _iso(run.finished_at),
        "status": run.status,
        "run_id": run.run_id,
        "session_id": run.session_id,
        "error": run.error,
        "delivery": run.delivery,
        "delivery_error": run.delivery_error,
    }
