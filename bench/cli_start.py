"""Cold start of the ``pyclaw`` CLI: ``pyclaw --help`` through the venv's console script.

Measures wall time from spawn to exit over ``RUNS`` runs after ``WARMUPS`` warm-ups (median and p90),
the same for ``python -c pass`` as the floor any Python CLI pays, and the peak RSS of each process
(``os.wait4``'s ``ru_maxrss``, taken by a small spawner process: see ``_SPAWNER``). Target: median ``pyclaw --help`` < 150 ms.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNS = 20
QUICK_RUNS = 5
WARMUPS = 2
TARGET_MS = 150.0
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sample:
    """One process run: wall time and peak resident memory."""

    seconds: float
    max_rss_bytes: int


def pyclaw_executable() -> Path:
    """The ``pyclaw`` console script of the running venv (else the one on PATH)."""
    beside = Path(sys.executable).with_name("pyclaw")
    if beside.is_file():
        return beside
    found = shutil.which("pyclaw")
    if found is None:
        raise FileNotFoundError("no pyclaw console script (run `uv sync --all-packages`)")
    return Path(found)


def check_works(argv: Sequence[str]) -> None:
    """Run once with output captured; raise with the last line of stderr if it fails."""
    result = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        last = lines[-1] if lines else "(no output)"
        raise RuntimeError(f"`{' '.join(argv)}` exited {result.returncode}: {last}")


_SPAWNER = """
import os, sys, time
argv = sys.argv[1:]
out = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=out)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
print(elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Spawns one command and reports its wall time, peak RSS (KiB) and exit code.

It runs in its own small ``python -I -S`` process because on Linux a child's ``ru_maxrss`` starts
from the peak RSS of the process that spawned it (the pre-exec address space counts): spawned from
this harness, every child would look at least as big as the harness. From the small spawner the
floor is its own ~8 MB, so the bare-python baseline row (~8.5 MB) reads at about the floor.
"""


def spawn(argv: Sequence[str], timeout: float = TIMEOUT_S) -> Sample:
    """Run ``argv`` with output discarded; return its wall time and peak RSS."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _SPAWNER, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the spawner failed: {result.stderr.strip()[-300:]}")
    elapsed, max_rss_kib, code = result.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"`{' '.join(argv)}` exited {code}")
    return Sample(float(elapsed), int(max_rss_kib) * 1024)


def measure(argv: Sequence[str], runs: int, warmups: int = WARMUPS) -> list[Sample]:
    for _ in range(warmups):
        spawn(argv)
    return [spawn(argv) for _ in range(runs)]


def median_ms(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples) * 1000


def p90_ms(samples: Sequence[Sample]) -> float:
    times = [s.seconds * 1000 for s in samples]
    if len(times) < 2:
        return times[0]
    return statistics.quantiles(times, n=10, method="inclusive")[-1]


def peak_mb(samples: Sequence[Sample]) -> float:
    return max(s.max_rss_bytes for s in samples) / 2**20


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows for the bench table."""
    runs = QUICK_RUNS if quick else RUNS
    pyclaw = [str(pyclaw_executable()), "--help"]
    baseline = [sys.executable, "-c", "pass"]
    check_works(pyclaw)
    base = measure(baseline, runs)
    cli = measure(pyclaw, runs)
    detail = f"{runs} runs after {WARMUPS} warm-ups"
    cli_median = median_ms(cli)
    return [
        {
            "name": "pyclaw --help, median",
            "value": cli_median,
            "unit": "ms",
            "target": f"< {TARGET_MS:.0f}",
            "ok": cli_median < TARGET_MS,
            "detail": detail,
        },
        {
            "name": "pyclaw --help, p90",
            "value": p90_ms(cli),
            "unit": "ms",
            "target": None,
            "ok": None,
        },
        {
            "name": "python -c pass, median (baseline)",
            "value": median_ms(base),
            "unit": "ms",
            "target": None,
            "ok": None,
            "detail": detail,
        },
        {
            "name": "pyclaw --help over baseline",
            "value": cli_median - median_ms(base),
            "unit": "ms",
            "target": None,
            "ok": None,
        },
        {
            "name": "pyclaw --help, peak RSS",
            "value": peak_mb(cli),
            "unit": "MB",
            "target": None,
            "ok": None,
        },
        {
            "name": "python -c pass, peak RSS",
            "value": peak_mb(base),
            "unit": "MB",
            "target": None,
            "ok": None,
        },
    ]
