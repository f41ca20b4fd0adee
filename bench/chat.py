"""``pyclaw chat -m`` as a whole process: one text turn against an instant model.

The model is ``bench.llm.InstantServer`` on 127.0.0.1 (answers every Chat Completions request at
once with a canned "Hello, benchmark!"), reached through an ``openai-compatible`` provider written
in the ``pyclaw.toml`` of a temporary ``PYCLAW_HOME`` (XDG dirs temporary too, so no real keyring
or config is touched). The agent has the default built-in tools. One checked run first (exit 0,
the canned answer on stdout, the server hit) creates and migrates the home; its time is its own
row. Then ``RUNS`` runs after ``WARMUPS`` warm-ups, each a new session in the same home, are
spawned through ``bench.cli_start.spawn`` (wall time from spawn to exit and the child's own peak
RSS from ``wait4``). Everything a real one-shot pays is in: interpreter start, imports, config,
secrets, database open, agent build, token counter load, the HTTP call, the audit trail, exit.
Goal: 10x better than nanobot's ~4.5 s / ~120 MB measured the same way (see OFFLINE.md):
median < 450 ms and peak RSS < 120 MB.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench._common import Row, p50, p90, row, scratch_home
from bench.cli_start import TIMEOUT_S, Sample, pyclaw_executable, spawn
from bench.llm import InstantServer

RUNS = 15
QUICK_RUNS = 2
WARMUPS = 2
TARGET_MS = 450.0
TARGET_MB = 120.0
ANSWER = "Hello, benchmark!"


def write_config(home: Path, base_url: str) -> None:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "pyclaw.toml").write_text(
        f'[providers.instant]\nkind = "openai-compatible"\nbase_url = "{base_url}"\n'
        'model = "gpt-4o-mini"\n\n[agents.default]\nprovider = "instant"\n',
        encoding="utf-8",
    )
    (home / "pyclaw.toml").chmod(0o600)


def checked_run(argv: list[str], server: InstantServer) -> float:
    """Run once with output captured; check the answer and the server hit; seconds taken."""
    before = server.requests
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or result.stdout.strip() != ANSWER:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise RuntimeError(
            f"`pyclaw chat -m` exited {result.returncode}: {lines[-1] if lines else '(no output)'}"
        )
    if server.requests != before + 1:
        raise RuntimeError(f"expected 1 model request, the server saw {server.requests - before}")
    return elapsed


def run(quick: bool = False) -> list[Row]:
    """Wall time and peak RSS of one-shot ``pyclaw chat -m`` turns."""
    return measure(QUICK_RUNS, 1) if quick else measure(RUNS, WARMUPS)


def measure(runs: int, warmups: int) -> list[Row]:
    """``runs`` timed one-shot turns after ``warmups`` untimed ones (and one checked run)."""
    argv = [str(pyclaw_executable()), "chat", "-q", "-m", "Say hello to the benchmark."]
    with InstantServer() as server, scratch_home("pyclaw-bench-chat-") as root:
        write_config(root / "home", f"{server.url}/v1")
        first_s = checked_run(argv, server)
        for _ in range(warmups):
            spawn(argv)
        samples: list[Sample] = [spawn(argv) for _ in range(runs)]
        if server.requests != 1 + warmups + runs:
            raise RuntimeError(f"{server.requests} model requests for {1 + warmups + runs} runs")
    times = [s.seconds * 1000 for s in samples]
    peak_mb = max(s.max_rss_bytes for s in samples) / 2**20
    detail = f"{runs} runs after {warmups} warm-ups, same home, a new session each"
    return [
        row("pyclaw chat -m, median", p50(times), "ms", below=TARGET_MS, detail=detail),
        row("pyclaw chat -m, p90", p90(times), "ms", detail=detail),
        row("pyclaw chat -m, peak RSS", peak_mb, "MB", below=TARGET_MB, detail=detail),
        row(
            "pyclaw chat -m, first run in a new home",
            first_s * 1000,
            "ms",
            detail="creates and migrates the database; output captured",
        ),
    ]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<42} {result['value']:>9} {result['unit']:<4} {result['detail']}")
