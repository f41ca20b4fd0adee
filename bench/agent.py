"""The agent loop's own cost per turn, with a model that answers instantly.

The stack is the runtime's: ``pyclaw.runtime._agents.AgentRuntime.open`` on a fresh
``PYCLAW_HOME`` (SQLite session log with redaction, artifact store, ``SQLiteMemoryStore``,
``SQLitePolicyEngine``, ``ApprovalBroker``, the redaction + untrusted-content guards), and its own
``_build`` wiring (``DefaultContextBuilder`` with the LLM summarizer and memory, ``LocalToolHost``
with the default built-in tools, ``AgentBrain``). Two things are swapped while the agent is built,
by patching the names ``_agents`` imported: ``open_provider`` returns an in-process
``pyclaw.llm.FunctionProvider`` answering with ``respond`` (no HTTP, no JSON), and
``available_builtin_tools`` adds ``bench.noop``, a ``@tool`` (risk safe, so policy allows it by
default) that returns ``"ok"`` at once, so the tool's own time is ~0 and a one-tool turn measures
the machinery around it: policy check, guards, host validation and timeout, tool call and result
events, a second model call.

Each row is the wall time of ``AgentRuntime.run_turn`` (session lookup, run start, context build,
model call, recording, run finish). Turns run one after another in one long session after
``WARMUP`` untimed turns, and again with a new session per turn (the ``pyclaw chat -m`` case).
In the long session the prompt grows with every turn until it fills the 8,192-token window
(after ~250 of these short turns; compaction keeps it there), and per-turn work that scales with
the prompt (redacting and recording the whole request) grows with it: the full run (300 turns)
mostly measures full-window turns, ``--quick`` (40 turns) small prompts. The same turns with
``pyclaw.session.InMemorySessionLog`` in place of SQLite show what the database costs.
Targets (issue 4): p50 < 5 ms for a text turn, < 10 ms for a one-tool turn.

The instant model reports a fixed ``USAGE`` with its answer, as a real provider reports the
server's counts: left to itself, ``FunctionProvider`` estimates usage by walking every message of
the prompt (~0.5 ms a call at a full window), which is the model's time, not the brain's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Generator, Iterable
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from pydantic import BaseModel

from bench._common import Row, p50, p90, row, scratch_home
from pyclaw.llm import FunctionProvider
from pyclaw.meta import (
    LLMRequest,
    LLMResponse,
    Message,
    RiskLevel,
    RunStatus,
    ToolCall,
    ToolResultEvent,
    Usage,
)
from pyclaw.os import Tool, ToolEnv, ToolRun, available_builtin_tools, tool
from pyclaw.runtime import _agents
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config import DEFAULT_AGENT_TOOLS
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._home import PyClawHome
from pyclaw.session import InMemorySessionLog

NOOP = "bench.noop"
AGENT = "bench"
TEXT_TARGET_MS = 5.0
TOOL_TARGET_MS = 10.0
WARMUP = 20
USAGE = Usage(input_tokens=1000, output_tokens=10)
"""What the instant model says every call used (see the module docstring)."""


class NoArgs(BaseModel):
    """No arguments."""


@tool(name=NOOP, description="Does nothing and answers ok.", risk=RiskLevel.SAFE)
async def noop(args: NoArgs, run: ToolRun) -> str:
    return "ok"


def reply(request: LLMRequest) -> str | ToolCall:
    """The instant model: call ``bench.noop`` when offered on a fresh user message (a turn whose
    text asks for it), else answer. Summarizer requests carry no tools, so they get text."""
    last = request.messages[-1] if request.messages else None
    offered = any(spec.name == NOOP for spec in request.tools)
    if offered and last is not None and last.role == "user" and "use the tool" in last.text:
        return ToolCall(name=NOOP, arguments={})
    return "Done."


def respond(request: LLMRequest) -> LLMResponse:
    """``reply`` as a full response carrying its usage (``USAGE``), like a real provider's."""
    answer = reply(request)
    message = (
        Message.assistant(tool_calls=(answer,))
        if isinstance(answer, ToolCall)
        else Message.assistant(answer)
    )
    return LLMResponse(model=request.model, provider="instant", message=message, usage=USAGE)


def config_text(tools: Iterable[str]) -> str:
    names = ", ".join(f'"{name}"' for name in tools)
    return (
        '[providers.instant]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'model = "instant"\n[agents.{AGENT}]\nprovider = "instant"\ntools = [{names}]\n'
    )


@contextmanager
def instant_stack(provider: FunctionProvider) -> Generator[None]:
    """While open, agents built by ``AgentRuntime`` use ``provider`` and get the no-op tool."""

    def open_instant(*_args: object, **_kwargs: object) -> FunctionProvider:
        return provider

    def tools_with_noop(
        env: ToolEnv, names: Iterable[str] | None = None
    ) -> tuple[list[Tool[Any]], dict[str, str]]:
        wanted = None if names is None else [n for n in names if n != NOOP]
        built, unavailable = available_builtin_tools(env, names=wanted)
        return [*built, noop], unavailable

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(_agents, "open_provider", open_instant))
        stack.enter_context(mock.patch.object(_agents, "available_builtin_tools", tools_with_noop))
        yield


async def timed_turns(
    rt: AgentRuntime, provider: FunctionProvider, text: str, turns: int, *, one_session: bool
) -> list[float]:
    """Milliseconds per ``run_turn``; every turn is checked to have succeeded."""
    session_id: str | None = None
    samples: list[float] = []
    for _ in range(turns):
        provider.requests.clear()
        started = time.perf_counter()
        session, result = await rt.run_turn(text, agent=AGENT, session_id=session_id)
        samples.append((time.perf_counter() - started) * 1000)
        if result.status is not RunStatus.SUCCEEDED:
            raise RuntimeError(f"a bench turn failed: {result.error}")
        if one_session:
            session_id = session.id
    return samples


async def check_tool_turn(rt: AgentRuntime) -> None:
    """One tool turn really ran the tool (policy allowed it, the host returned "ok")."""
    session, result = await rt.run_turn("please use the tool", agent=AGENT)
    results = [
        e.payload.result
        for e in await rt.services.sessions.read(session.id)
        if isinstance(e.payload, ToolResultEvent)
    ]
    if result.steps != 2 or [(r.name, r.status, r.content) for r in results] != [
        (NOOP, "ok", "ok")
    ]:
        raise RuntimeError(f"the tool turn did not run {NOOP}: {results!r}")


async def measure(turns: int, *, in_memory: bool, warmup: int = WARMUP) -> dict[str, list[float]]:
    """Timings per variant for one fresh home (SQLite session log, or in memory)."""
    provider = FunctionProvider(respond, name="instant")
    config = parse_config(config_text([*DEFAULT_AGENT_TOOLS, NOOP]))
    home = PyClawHome.from_env()
    home.ensure_layout()
    out: dict[str, list[float]] = {}
    with instant_stack(provider):
        async with AgentRuntime.open(home, config) as rt:
            if in_memory:
                rt.services.sessions = InMemorySessionLog(redactor=rt.redactor)  # pyright: ignore[reportAttributeAccessIssue] - the bench swaps the log before any agent is built
            await check_tool_turn(rt)
            for name, text in (("text", "hello there"), ("tool", "please use the tool")):
                for one_session in (True, False):
                    key = f"{name}/{'long' if one_session else 'fresh'}"
                    samples = await timed_turns(
                        rt, provider, text, warmup + turns, one_session=one_session
                    )
                    out[key] = samples[warmup:]  # the long session goes on from its warm-up
    return out


def rows_for(
    sqlite: dict[str, list[float]], memory: dict[str, list[float]], warmup: int = WARMUP
) -> list[Row]:
    rows: list[Row] = []
    for kind, label, target in (
        ("text", "text turn", TEXT_TARGET_MS),
        ("tool", "one-tool turn", TOOL_TARGET_MS),
    ):
        for variant, where in (("long", "one long session"), ("fresh", "new session each")):
            samples = sqlite[f"{kind}/{variant}"]
            detail = f"{len(samples)} turns after {warmup} warm-ups, {where}; SQLite log"
            rows.append(
                row(f"{label} p50 ({where})", p50(samples), "ms", below=target, detail=detail)
            )
            rows.append(row(f"{label} p90 ({where})", p90(samples), "ms", detail=detail))
        for variant, where in (("long", "one long session"), ("fresh", "new session each")):
            mem, db = memory[f"{kind}/{variant}"], sqlite[f"{kind}/{variant}"]
            rows.append(
                row(
                    f"{label} p50, InMemorySessionLog ({where})",
                    p50(mem),
                    "ms",
                    detail=f"{len(mem)} turns; SQLite's share of the p50: {p50(db) - p50(mem):.2f} ms",
                )
            )
    return rows


def run(quick: bool = False) -> list[Row]:
    """Per-turn overhead of the agent stack with an instant in-process model."""
    turns = 40 if quick else 300
    with scratch_home("pyclaw-bench-agent-"):
        sqlite = asyncio.run(measure(turns, in_memory=False))
    with scratch_home("pyclaw-bench-agent-mem-"):
        memory = asyncio.run(measure(turns, in_memory=True))
    return rows_for(sqlite, memory)


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<58} {result['value']:>9} {result['unit']:<4} {result['detail']}")
