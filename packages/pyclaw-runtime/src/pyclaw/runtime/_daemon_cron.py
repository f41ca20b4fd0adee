"""Cron inside the daemon: jobs from ``[[cron]]`` and ``pyclaw cron add`` fired on time.

Each firing is an agent turn (``run_cron_job``: ``isolated`` in a fresh session, ``main`` in the
agent's cron session) and its outcome is delivered: ``announce`` sends the answer through a
channel (``target = "telegram:<chat id>"``; without a target, to the first allowed Telegram
user), ``webhook`` POSTs it, ``silent`` only records it.
"""

from __future__ import annotations

import asyncio
import logging

from pyclaw.meta import OutboundMessage, UsageError
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._cron_deliver import CronDelivery
from pyclaw.runtime._cron_loop import CronScheduler
from pyclaw.runtime._cron_run import cron_fire
from pyclaw.runtime._cron_store import CronStore
from pyclaw.runtime._daemon import Daemon

log = logging.getLogger("pyclaw.daemon")


async def start_cron(
    daemon: Daemon, config: PyClawConfig
) -> tuple[CronScheduler, asyncio.Task[None]]:
    """Sync the configured jobs into the store and start the scheduler as a task."""
    runtime = daemon.runtime
    store = CronStore(runtime.services.db, clock=daemon.clock)
    report = await runtime.services.db.run(store.sync_config_jobs, config)
    if report.added or report.updated or report.removed:
        log.info(
            "cron: config jobs synced (added %s, updated %s, removed %s)",
            list(report.added),
            list(report.updated),
            list(report.removed),
        )
    owner = _owner_target(config)

    async def announce(target: str | None, text: str, idempotency_key: str) -> None:
        where = target or owner
        if where is None:
            raise UsageError(
                "nowhere to announce: configure [telegram] or give the job a target "
                "like 'telegram:<chat id>'"
            )
        channel_name, _, chat_id = where.partition(":")
        channel = daemon.channels.get(channel_name)
        if channel is None or not chat_id:
            raise UsageError(f"cannot announce to {where!r}: no such channel running")
        await channel.send(
            OutboundMessage(
                channel=channel_name, chat_id=chat_id, text=text, idempotency_key=idempotency_key
            )
        )

    scheduler = CronScheduler(
        store,
        cron_fire(runtime, store),
        CronDelivery(announce=announce),
        clock=daemon.clock,
    )
    return scheduler, asyncio.create_task(scheduler.run(), name="cron")


def _owner_target(config: PyClawConfig) -> str | None:
    telegram = config.telegram
    if telegram is None or telegram.token is None or not telegram.allowed_user_ids:
        return None
    return f"telegram:{telegram.allowed_user_ids[0]}"
