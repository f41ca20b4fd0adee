"""Helpers shared by the agent-stack benches: percentiles, timing loops, rows and a throwaway home."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from contextlib import contextmanager
from pathlib import Path

Row = dict[str, object]

ISOLATING_ENV = ("PYCLAW_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")
"""Variables pointed into a temporary directory so a bench never reads or writes the user's home,
keyring file or config (the same isolation the root ``conftest.py`` gives tests)."""


def p50(samples: list[float]) -> float:
    """The median."""
    return statistics.median(samples)


def p90(samples: list[float]) -> float:
    """The 90th percentile (inclusive method; the single value for one sample)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def time_ms(fn: Callable[[], object], runs: int, warmup: int = 0) -> list[float]:
    """Wall time of ``fn()`` in milliseconds, ``runs`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def atime_ms(fn: Callable[[], Awaitable[object]], runs: int, warmup: int = 0) -> list[float]:
    """``time_ms`` for a coroutine function."""
    for _ in range(warmup):
        await fn()
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(
    name: str,
    value: float,
    unit: str,
    *,
    below: float | None = None,
    detail: str = "",
) -> Row:
    """One table row; with ``below``, the target is ``< below`` and ``ok`` says whether it is met."""
    load = f"load average {os.getloadavg()[0]:.1f}"
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "target": None if below is None else f"< {below:g}",
        "ok": None if below is None else value < below,
        "detail": f"{detail}; {load}" if detail else load,
    }


@contextmanager
def scratch_home(prefix: str) -> Generator[Path]:
    """A temporary directory with ``PYCLAW_HOME`` (its ``home`` subdirectory) and the XDG
    variables pointed inside it; everything is restored and deleted on exit."""
    saved: Mapping[str, str | None] = {name: os.environ.get(name) for name in ISOLATING_ENV}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        os.environ["PYCLAW_HOME"] = str(root / "home")
        os.environ["XDG_DATA_HOME"] = str(root / "xdg-data")
        os.environ["XDG_CONFIG_HOME"] = str(root / "xdg-config")
        try:
            yield root
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
