"""Context build time for a 10,000-event session (``pyclaw.context.DefaultContextBuilder``).

The session is ``pyclaw.context.synthetic_session(10_000)``: hash-chained tool-using turns (user
question, tool call, tool result of 1-12 lines, answer), far more than the 8,192-token budget holds.
The builder uses PyClaw's default token counter (tiktoken ``o200k_base`` loaded offline, else the
estimate; the row details say which) and the deterministic extractive summarizer, so no model is
involved. Loading the tokenizer is timed on its own, in a fresh process (once per process), and
kept out of the rest.

- **first build**: a new builder on the raw session; it must compact the old turns into
  summaries (median over a few fresh builders).
- The summaries are then appended to the session (as the brain does) with a new question, and:
- **fresh builder**: p50 of builds by new builders (empty per-event caches: a process's first turn);
- **long-lived builder**: p50 of builds by the one builder that made the summaries (its caches warm:
  every later turn in a running daemon).
Target: < 50 ms for a build of the 10,000-event session.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence

from bench._common import Row, atime_ms, p50, p90, row
from pyclaw.context import DefaultContextBuilder, TokenCounter, default_counter, synthetic_session
from pyclaw.meta import (
    GENESIS_HASH,
    AgentProfile,
    BuiltContext,
    EventPayload,
    Message,
    RunStartedEvent,
    SessionEvent,
    ToolSpec,
    UserMessageEvent,
)

EVENTS = 10_000
BUDGET_TOKENS = 8192
TARGET_MS = 50.0
TURN_EVENTS = 6
"""Events per synthetic turn (run start, question, tool call, tool result, answer, run end)."""
QUERY = "Turn 99999: what did the backup report say about the disk?"
AGENT = AgentProfile(name="bench", provider="fake", system_prompt="You are a careful assistant.")
TOOLS = (ToolSpec(name="read_file", description="Read a file in the workspace."),)


def sealed(history: Sequence[SessionEvent], payloads: Sequence[EventPayload]) -> list[SessionEvent]:
    """``history`` with ``payloads`` appended as the next hash-chained events."""
    out = list(history)
    for payload in payloads:
        prev = out[-1].hash if out else GENESIS_HASH
        session = out[-1].session_id if out else "ses_bench"
        out.append(
            SessionEvent.seal(session_id=session, seq=len(out), payload=payload, prev_hash=prev)
        )
    return out


_LOAD_PROBE = """
import time
from pyclaw.context import default_counter
counter = default_counter()
started = time.perf_counter()
counter.prepare()
print((time.perf_counter() - started) * 1000)
"""


def counter_load_ms() -> float:
    """Loading the default token counter in a new process (tiktoken caches encodings per process,
    so in this one it may already be loaded)."""
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


class Bench:
    """One builder, its token counter and the session it builds for."""

    def __init__(self, counter: TokenCounter, history: list[SessionEvent]) -> None:
        self.counter = counter
        self.history = history
        self.keeper = DefaultContextBuilder(counter=counter)

    async def build(
        self, builder: DefaultContextBuilder | None = None, history: Sequence[SessionEvent] = ()
    ) -> BuiltContext:
        built = await (builder or self.keeper).build(
            agent=AGENT,
            history=history or self.history,
            tools=TOOLS,
            budget_tokens=BUDGET_TOKENS,
            query=QUERY,
        )
        if built.input_tokens > BUDGET_TOKENS:
            raise RuntimeError(f"the build overflowed its budget: {built.input_tokens} tokens")
        return built

    async def fresh(self) -> BuiltContext:
        return await self.build(DefaultContextBuilder(counter=self.counter))

    async def warm(self) -> BuiltContext:
        built = await self.build()
        if built.summaries:
            raise RuntimeError("a steady-state build summarized again")
        return built

    async def grow(self, turns: int) -> tuple[list[float], list[float]]:
        """Append ``turns`` new turns one by one, building after each (as every turn does) and
        recording the summaries a build makes; returns (ms of plain builds, ms of compactions)."""
        extra = synthetic_session(turns * TURN_EVENTS, seed=1)
        plain: list[float] = []
        compacting: list[float] = []
        for start in range(0, len(extra), TURN_EVENTS):
            turn = [e.payload for e in extra[start : start + TURN_EVENTS]]
            self.history = sealed(self.history, turn)
            started = time.perf_counter()
            built = await self.build()
            elapsed = (time.perf_counter() - started) * 1000
            (compacting if built.summaries else plain).append(elapsed)
            self.history = sealed(self.history, built.summaries)
        return plain, compacting


async def measure(n_events: int, compactions: int, builds: int, turns: int) -> list[Row]:
    counter = default_counter()
    await asyncio.to_thread(counter.prepare)
    prepare_ms = await asyncio.to_thread(counter_load_ms)
    raw = synthetic_session(n_events)
    bench = Bench(counter, raw)
    first = await bench.build()
    if not first.summaries:
        raise RuntimeError("the first build of a long session made no summary")
    compact_ms: list[float] = []
    for _ in range(compactions):
        started = time.perf_counter()
        await bench.build(DefaultContextBuilder(counter=counter), raw)
        compact_ms.append((time.perf_counter() - started) * 1000)
    question = (
        RunStartedEvent(run_id="run_bench", agent="bench"),
        UserMessageEvent(message=Message.user(QUERY)),
    )
    bench.history = sealed(raw, [*first.summaries, *question])
    fresh = await atime_ms(bench.fresh, builds, warmup=1)
    warm = await atime_ms(bench.warm, builds, warmup=2)
    last = await bench.warm()
    plain, compacting = await bench.grow(turns)
    detail = (
        f"{len(raw):,} events, {BUDGET_TOKENS} token budget, counter {counter.name}; "
        f"request: {len(last.request.messages)} messages, {last.input_tokens} tokens"
    )
    rows = [
        row(
            "first build of the raw session (compacts it all)",
            p50(compact_ms),
            "ms",
            below=TARGET_MS,
            detail=f"median of {len(compact_ms)} fresh builders, {len(first.summaries)} "
            f"summaries made; {detail}",
        ),
        row(
            "build p50, fresh builder (summaries recorded)",
            p50(fresh),
            "ms",
            below=TARGET_MS,
            detail=f"{builds} builds; {detail}",
        ),
        row("build p90, fresh builder", p90(fresh), "ms", detail=f"{builds} builds"),
        row(
            "build p50, long-lived builder",
            p50(warm),
            "ms",
            below=TARGET_MS,
            detail=f"{builds} builds; {detail}",
        ),
        row("build p90, long-lived builder", p90(warm), "ms", detail=f"{builds} builds"),
        row(
            "build p50, long-lived builder, a turn added before each",
            p50(plain),
            "ms",
            below=TARGET_MS,
            detail=f"{len(plain)} of {turns} new turns built without compacting",
        ),
    ]
    if compacting:
        rows.append(
            row(
                "incremental compaction build (window full), max",
                max(compacting),
                "ms",
                detail=f"{len(compacting)} of {turns} new turns compacted",
            )
        )
    rows.append(
        row(
            "token counter load, fresh process (once per process)",
            prepare_ms,
            "ms",
            detail=f"{counter.name}; in a new python process, as a one-shot pays it",
        )
    )
    return rows


def run(quick: bool = False) -> list[Row]:
    """Context build times for one 10,000-event session."""
    return asyncio.run(
        measure(
            EVENTS,
            compactions=1 if quick else 3,
            builds=10 if quick else 50,
            turns=60 if quick else 400,
        )
    )


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<48} {result['value']:>9} {result['unit']:<4} {result['detail']}")
