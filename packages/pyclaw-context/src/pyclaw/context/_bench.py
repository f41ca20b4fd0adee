"""A synthetic long session and a timing helper for ``bench/`` (context build time)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pyclaw.context._builder import DefaultContextBuilder
from pyclaw.context._tokens import TokenCounter
from pyclaw.meta import (
    GENESIS_HASH,
    AgentProfile,
    AssistantMessageEvent,
    EventPayload,
    Message,
    RunFinishedEvent,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    ToolCall,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    UserMessageEvent,
)

_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "file",
    "report",
    "budget",
    "server",
    "backup",
    "log",
    "disk",
    "cron",
    "user",
    "note",
]


def turn_payloads(i: int, rng: random.Random) -> list[EventPayload]:
    """One agent turn: run start, a question, a tool call and its result, the answer, run end."""
    words = " ".join(rng.choices(_WORDS, k=rng.randint(5, 30)))
    call = ToolCall(id=f"call_{i}", name="read_file", arguments={"path": f"notes/{i}.txt"})
    body = "\n".join(
        f"line {n}: {' '.join(rng.choices(_WORDS, k=8))}" for n in range(rng.randint(1, 12))
    )
    return [
        RunStartedEvent(run_id=f"run_{i}", agent="bench"),
        UserMessageEvent(message=Message.user(f"Turn {i}: please read notes/{i}.txt. {words}")),
        AssistantMessageEvent(message=Message.assistant("Reading it.", (call,))),
        ToolResultEvent(result=ToolResult(call_id=call.id, name="read_file", content=body)),
        AssistantMessageEvent(message=Message.assistant(f"notes/{i}.txt: {words}"), final=True),
        RunFinishedEvent(run_id=f"run_{i}", status=RunStatus.SUCCEEDED),
    ]


def append(
    history: list[SessionEvent], payloads: Sequence[EventPayload], session_id: str = "ses_bench"
) -> None:
    """Seal ``payloads`` onto the end of ``history`` (what a session log's ``append`` does)."""
    for payload in payloads:
        prev = history[-1].hash if history else GENESIS_HASH
        history.append(
            SessionEvent.seal(
                session_id=session_id, seq=len(history), payload=payload, prev_hash=prev
            )
        )


def synthetic_session(n_events: int, *, seed: int = 0) -> list[SessionEvent]:
    """About ``n_events`` events of tool-using turns (6 events per turn), hash-chained."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    history: list[SessionEvent] = []
    i = 0
    while len(history) < n_events:
        append(history, turn_payloads(i, rng))
        i += 1
    return history


@dataclass(frozen=True)
class BenchResult:
    """Timings of building context for one long session (milliseconds)."""

    n_events: int
    summaries: int
    compact_ms: float
    """The first build, which summarizes the whole session (extractive summarizer)."""
    cold_ms: float
    """A build by a fresh builder (empty caches) once the summaries are recorded."""
    warm_ms: float
    """Median build by a long-lived builder when nothing new needs summarizing."""
    messages: int
    input_tokens: int
    counter: str


def bench_build(
    n_events: int = 10_000,
    *,
    budget_tokens: int = 8192,
    repeat: int = 20,
    counter: TokenCounter | None = None,
) -> BenchResult:
    """Time context builds of a synthetic ``n_events`` session (blocking; runs its own loop)."""
    return asyncio.run(_bench(n_events, budget_tokens, repeat, counter))


async def _bench(n: int, budget: int, repeat: int, counter: TokenCounter | None) -> BenchResult:
    agent = AgentProfile(name="bench", provider="fake")
    tools = [ToolSpec(name="read_file", description="Read a file in the workspace.")]
    history = synthetic_session(n)
    builder = DefaultContextBuilder(counter=counter)
    await asyncio.to_thread(builder.counter.prepare)
    t0 = time.perf_counter()
    first = await builder.build(agent=agent, history=history, tools=tools, budget_tokens=budget)
    compact_ms = (time.perf_counter() - t0) * 1000
    append(history, first.summaries)
    append(history, turn_payloads(len(history), random.Random(1))[:2])  # noqa: S311 - a new question
    fresh = DefaultContextBuilder(counter=builder.counter)
    t0 = time.perf_counter()
    await fresh.build(agent=agent, history=history, tools=tools, budget_tokens=budget)
    cold_ms = (time.perf_counter() - t0) * 1000
    times: list[float] = []
    built = first
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        built = await builder.build(agent=agent, history=history, tools=tools, budget_tokens=budget)
        times.append((time.perf_counter() - t0) * 1000)
        if built.summaries:
            raise RuntimeError("a steady-state build summarized again")
    return BenchResult(
        n_events=len(history),
        summaries=len(first.summaries),
        compact_ms=compact_ms,
        cold_ms=cold_ms,
        warm_ms=statistics.median(times),
        messages=len(built.request.messages),
        input_tokens=built.input_tokens,
        counter=builder.counter.name,
    )
