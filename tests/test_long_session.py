"""A 2,000-turn session compacts and keeps answering within budget (the real stack, no model).

The real ``AgentBrain`` runs every turn in ONE session, with the real ``DefaultContextBuilder``
(tiktoken offline, model-written summaries through ``LLMSummarizer``), a real ``SQLiteSessionLog``
on a temporary database, a ``LocalToolHost`` with two trivial tools, and an instant in-process
``FunctionProvider`` as the model. Some turns call a tool once; every 250th turn is a 12-step
mission whose tool outputs alone are many times the budget.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel

from pyclaw.brain import AgentBrain
from pyclaw.context import DefaultContextBuilder, LLMSummarizer, count_request, default_counter
from pyclaw.llm import FunctionProvider
from pyclaw.meta import (
    AgentProfile,
    Budget,
    BuiltContext,
    LLMRequest,
    Message,
    RunRequest,
    RunStatus,
    SessionEvent,
    SummaryEvent,
    ToolCall,
    ToolSpec,
)
from pyclaw.os import LocalToolHost, ToolEnv, ToolRun, tool
from pyclaw.session import SESSION_MIGRATIONS, SQLiteSessionLog
from pyclaw.storage import Database

TURNS = 2000
MISSION_EVERY = 250
MISSION_STEPS = 12
CONTEXT_TOKENS = 2048
MAX_OUTPUT = 256
BUDGET = CONTEXT_TOKENS - MAX_OUTPUT

TOPICS = ("backups", "the VPN", "disk quotas", "cron jobs", "TLS certificates", "the mail relay")


class JotArgs(BaseModel):
    text: str


class InspectArgs(BaseModel):
    host: str
    lines: int = 10


@tool(name="jot")
async def jot(args: JotArgs, run: ToolRun) -> str:
    """Write a short note down."""
    return f"noted: {args.text}"


@tool(name="inspect")
async def inspect_host(args: InspectArgs, run: ToolRun) -> str:
    """Report the state of a host, one line per check."""
    checks = (
        f"{args.host} check {i}: disk {i % 97}% used, load {i % 13}.{i % 10}, {i * 11} ms"
        for i in range(args.lines)
    )
    return "\n".join(checks)


_TURN = re.compile(r"^Turn (\d+)")


def user_text(turn: int) -> str:
    topic = TOPICS[turn % len(TOPICS)]
    if turn % MISSION_EVERY == MISSION_EVERY - 1:
        return f"Turn {turn}: mission - inspect {MISSION_STEPS} hosts and report on {topic}."
    ask = "Please jot this down. " if turn % 7 == 3 else ""
    return f"Turn {turn}: {ask}What should I know about {topic} today? " + "Some context. " * 8


class Model:
    """The scripted model: answers each turn, calls ``jot`` on some, runs the missions."""

    def __init__(self) -> None:
        self.steps: Counter[int] = Counter()

    def __call__(self, request: LLMRequest) -> str | ToolCall:
        turn = current_turn(request.messages)
        self.steps[turn] += 1
        step = self.steps[turn]
        if turn % MISSION_EVERY == MISSION_EVERY - 1 and step <= MISSION_STEPS:
            return ToolCall(name="inspect", arguments={"host": f"host{step}", "lines": 120})
        if turn % 7 == 3 and step == 1:
            return ToolCall(name="jot", arguments={"text": f"turn {turn}"})
        topic = TOPICS[turn % len(TOPICS)]
        return f"Answer to turn {turn}: about {topic}, " + "keep an eye on it. " * 10


def current_turn(messages: Sequence[Message]) -> int:
    """The number of the turn being answered: the last user message that starts a turn."""
    for message in reversed(messages):
        match = _TURN.match(message.text) if message.role == "user" else None
        if match:
            return int(match.group(1))
    raise AssertionError("no current user message in the request")


def summarize(request: LLMRequest) -> str:
    """A model-written summary: the user's turns and topics, in order, as short as asked."""
    lines = request.messages[0].text.splitlines()
    asked = [
        line.split(":")[0].removeprefix("User: ") for line in lines if line.startswith("User: Turn")
    ]
    kept = " ".join(line.split(". ")[0] for line in lines if not line.startswith("Tool "))
    words = (max(request.max_tokens or 64, 16) * 3) // 5
    return " ".join((f"Covered {', '.join(asked[:3])}." if asked else "", *kept.split()[:words]))


class RecordingBuilder:
    """The real builder, remembering every context it built."""

    def __init__(self, inner: DefaultContextBuilder) -> None:
        self.inner = inner
        self.built: list[BuiltContext] = []

    async def build(
        self,
        *,
        agent: AgentProfile,
        history: Sequence[SessionEvent],
        tools: Sequence[ToolSpec],
        budget_tokens: int,
        query: str | None = None,
    ) -> BuiltContext:
        assert budget_tokens == BUDGET
        built = await self.inner.build(
            agent=agent, history=history, tools=tools, budget_tokens=budget_tokens, query=query
        )
        self.built.append(built)
        return built


@pytest.mark.slow
async def test_a_2000_turn_session_compacts_and_keeps_answering_within_budget(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    counter = default_counter()
    summaries = FunctionProvider(summarize, name="summarizer")
    builder = RecordingBuilder(
        DefaultContextBuilder(counter=counter, summarizer=LLMSummarizer(summaries, "summarizer"))
    )
    model = Model()
    llm = FunctionProvider(model, name="scripted")
    db = Database.open(tmp_path / "pyclaw.db", migrations=(SESSION_MIGRATIONS,))
    try:
        sessions = SQLiteSessionLog(db)
        agent = AgentProfile(
            name="main",
            provider="scripted",
            model="scripted-1",
            system_prompt="You are a concise operations assistant.",
            context_tokens=CONTEXT_TOKENS,
            max_output_tokens=MAX_OUTPUT,
        )
        host = LocalToolHost(ToolEnv(workspace=tmp_path), [jot, inspect_host])
        brain = AgentBrain(agent=agent, llm=llm, context=builder, tools=host, sessions=sessions)
        session = await sessions.create_session(agent="main", channel="test")
        budget = Budget(max_steps=MISSION_STEPS + 2)
        for turn in range(TURNS):
            request = RunRequest(
                session_id=session.id,
                agent="main",
                input=Message.user(user_text(turn)),
                budget=budget,
            )
            result = await brain.run(request)
            assert result.status is RunStatus.SUCCEEDED, (turn, result.error)
            assert result.answer is not None
            assert result.answer.text.startswith(f"Answer to turn {turn}:")
        report = await sessions.verify(session.id)
        events = await sessions.read(session.id)
    finally:
        db.close()
    elapsed = time.perf_counter() - started

    # Every model call was built by the builder and stayed within the budget by its own count.
    assert len(llm.requests) == len(builder.built) == sum(model.steps.values())
    for sent, built in zip(llm.requests, builder.built, strict=True):
        assert built.input_tokens <= BUDGET
        assert count_request(counter, sent) <= BUDGET
        assert sent.messages == built.request.messages
    missions = TURNS // MISSION_EVERY
    assert len(llm.requests) == TURNS + TURNS // 7 + missions * MISSION_STEPS
    # Mission turns outgrew the budget: their older tool outputs were elided in the prompt only.
    elided = [
        r for r in llm.requests if any(t.truncated for m in r.messages for t in m.tool_results)
    ]
    assert len(elided) >= missions * (MISSION_STEPS - 2)
    for turn in range(MISSION_EVERY - 1, TURNS, MISSION_EVERY):
        final = [r for r in llm.requests if current_turn(r.messages) == turn][-1]
        results = [t for m in final.messages for t in m.tool_results if t.name == "inspect"]
        dropped = re.search(r"\[(\d+) earlier steps? of this turn elided", str(final.messages))
        shown = len(results) + (int(dropped.group(1)) if dropped else 0)
        assert shown == MISSION_STEPS, "every step is shown or said to be left out"
        stubs = results[:-1]
        assert stubs, "older steps of the mission are still in view"
        assert all(t.truncated and counter.count(t.content) < 150 for t in stubs)
        # The newest output keeps at least a quarter of the turn's room (about 1,150 tokens).
        assert counter.count(results[-1].content) > 250, "the newest output keeps its share"
    stored = [e.payload.result for e in events if e.payload.kind == "tool_result"]
    assert not any(r.truncated for r in stored), "the log keeps every output whole"

    # Summaries accumulated, hierarchically, and were written by the summarizer model.
    made = [e.payload for e in events if isinstance(e.payload, SummaryEvent)]
    levels = Counter(s.level for s in made)
    assert levels[0] >= 20
    assert max(levels) >= 1, f"no merged summaries: {levels}"
    assert summaries.requests, "the summarizer model was used"
    assert report.ok, report.problems
    assert report.events == len(events)
    print(
        f"\n{TURNS} turns, {len(llm.requests)} model calls, {len(events)} events, "
        f"summaries by level {dict(sorted(levels.items()))}, {elapsed:.1f} s"
    )
