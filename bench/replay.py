"""Replay speed: a long recorded session replayed ``--strict``-style with a scripted model.

A session of ``TURNS`` turns (1,000; 100 with ``--quick``) is recorded through the real agent loop
(``AgentBrain`` with ``DefaultContextBuilder`` and its extractive compaction, in-process scripted
model, a tool host answering at once) into ``pyclaw.session.InMemorySessionLog``: every turn calls
one tool and then answers, so a turn is ~11 events and the session ~11,000. Then every turn is
replayed with ``pyclaw.eval.replay`` under ``strict``: recorded model responses, recorded tool
results, each request checked against the recorded one and the turn's whole event sequence
compared. Each case starts from the exact recorded history before it (a scratch log seeded with
it) and one context builder is shared, as ``pyclaw eval replay`` does per agent.
Target (issue 7): the 1,000-turn session replays in under 5 s.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench._common import Row, row
from pyclaw.brain import AgentBrain
from pyclaw.context import DefaultContextBuilder
from pyclaw.eval import ReplayIO, ReplayOptions, read_session, replay
from pyclaw.llm import FunctionProvider
from pyclaw.meta import (
    AgentProfile,
    LLMRequest,
    Message,
    RunRequest,
    RunStatus,
    ToolCall,
    ToolContext,
    ToolResult,
    ToolSpec,
)
from pyclaw.session import InMemorySessionLog

TARGET_S = 5.0
AGENT = AgentProfile(name="bench", provider="scripted", model="scripted", tools=("lookup",))
SPEC = ToolSpec(name="lookup", description="Look a word up.")


class Lookup:
    """A tool host whose one tool answers at once."""

    def list_tools(self) -> list[ToolSpec]:
        return [SPEC]

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        word = str(call.arguments.get("word", ""))
        return ToolResult(call_id=call.id, name="lookup", content=f"{word}: a common word.")


def reply(request: LLMRequest) -> str | ToolCall:
    """Call the tool on a fresh user message, then answer from its result."""
    last = request.messages[-1]
    if last.role == "user":
        return ToolCall(
            id=f"call_{len(request.messages)}",
            name="lookup",
            arguments={"word": last.text.split()[-1]},
        )
    return f"Looked it up: {last.tool_results[0].content if last.tool_results else 'nothing'}"


async def record(turns: int) -> tuple[InMemorySessionLog, str]:
    log = InMemorySessionLog()
    session = await log.create_session(agent=AGENT.name, channel="bench")
    brain = AgentBrain(
        agent=AGENT,
        llm=FunctionProvider(reply),
        context=DefaultContextBuilder(),
        tools=Lookup(),
        sessions=log,
    )
    for i in range(turns):
        text = f"Turn {i}: please look up the word number{i}"
        result = await brain.run(
            RunRequest(session_id=session.id, agent=AGENT.name, input=Message.user(text))
        )
        if result.status is not RunStatus.SUCCEEDED:
            raise RuntimeError(f"recording turn {i} failed: {result.error}")
    return log, session.id


async def measure(turns: int) -> tuple[float, int, int, int]:
    """Seconds to replay, cases, cases passed, events in the session."""
    log, sid = await record(turns)
    events = await log.read(sid)
    context = DefaultContextBuilder()

    def make_brain(io: ReplayIO) -> AgentBrain:
        assert io.llm is not None
        return AgentBrain(
            agent=AGENT, llm=io.llm, context=context, tools=io.tools, sessions=io.sessions
        )

    started = time.perf_counter()
    session = read_session(sid, events)
    report = await replay([session], make_brain, ReplayOptions(strict=True))
    seconds = time.perf_counter() - started
    return seconds, report.summary.cases, report.summary.passed, len(events)


def run(quick: bool = False) -> list[Row]:
    turns = 100 if quick else 1000
    seconds, cases, passed, events = asyncio.run(measure(turns))
    if passed != cases:
        raise RuntimeError(
            f"the strict replay of an unchanged recording failed {cases - passed} case(s)"
        )
    below = TARGET_S * turns / 1000  # the target scaled to the session's length
    return [
        row(
            f"strict replay of a {turns}-turn session",
            seconds * 1000,
            "ms",
            below=below * 1000,
            detail=f"{cases} cases all passed, {events} events, {seconds / cases * 1000:.2f} ms per turn",
        )
    ]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result)
