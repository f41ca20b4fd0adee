"""Waiting for a starting ``llama-server`` to answer ``GET /health`` with 200."""

from __future__ import annotations

import asyncio
import time

import httpx

from pyclaw.llm.local._errors import LocalServerError

POLL_SECONDS = 0.1
"""Pause between two health probes."""

PROBE_TIMEOUT = 2.0
"""Seconds one probe may take."""


async def wait_healthy(root: str, process: asyncio.subprocess.Process, *, within: float) -> None:
    """Return once ``{root}/health`` answers 200 (llama-server answers 503 while loading).

    Raises ``LocalServerError`` (retryable) if the process exits first or ``within`` seconds pass.
    """
    deadline = time.monotonic() + within
    probe = httpx.Timeout(PROBE_TIMEOUT)
    async with httpx.AsyncClient(timeout=probe) as client:
        while True:
            if process.returncode is not None:
                raise LocalServerError(
                    f"llama-server exited with status {process.returncode} while starting",
                    retryable=True,
                )
            try:
                response = await client.get(f"{root}/health")
            except httpx.HTTPError:
                pass  # not listening yet
            else:
                if response.status_code == 200:
                    return
            if time.monotonic() >= deadline:
                raise LocalServerError(
                    f"llama-server was not healthy after {within:g} s", retryable=True
                )
            await asyncio.sleep(POLL_SECONDS)
