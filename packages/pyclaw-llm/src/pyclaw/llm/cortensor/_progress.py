"""Progress on long waits: decentralized inference can take minutes, so say we are still waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable

WaitCallback = Callable[[str, float], None]
"""Told ``(what, seconds waited so far)`` every ``progress_every`` seconds of a long wait."""

log = logging.getLogger("pyclaw.llm.cortensor")


@contextlib.asynccontextmanager
async def reporting_wait(
    what: str, *, every: float | None, on_wait: WaitCallback | None
) -> AsyncGenerator[None]:
    """While the body runs, every ``every`` seconds log one line (INFO, logger
    ``pyclaw.llm.cortensor``) and call ``on_wait``; ``every`` ``None`` or ``<= 0`` turns it off."""
    if every is None or every <= 0:
        yield
        return
    started = time.monotonic()

    async def tick() -> None:
        while True:
            await asyncio.sleep(every)
            waited = time.monotonic() - started
            log.info("%s: still waiting for the Cortensor router (%.0f s)", what, waited)
            if on_wait is not None:
                on_wait(what, waited)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
