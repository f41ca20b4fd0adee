"""Properties over random histories: tool pairs intact, budget never exceeded, summaries reused."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pyclaw.context import DefaultContextBuilder, EstimateCounter, count_request
from pyclaw.meta import (
    AgentProfile,
    ContextOverflowError,
    Message,
    NoteEvent,
    ToolCall,
    UserMessageEvent,
)

AGENT = AgentProfile(name="helper", provider="fake", system_prompt="You help.")
COUNTER = EstimateCounter()

op = st.one_of(
    st.tuples(st.just("user"), st.integers(0, 60)),
    st.tuples(st.just("assistant"), st.integers(0, 40), st.integers(0, 2)),
    st.tuples(st.just("result"), st.integers(0, 1000), st.integers(0, 60)),
    st.tuples(st.just("ghost"), st.integers(0, 50)),
    st.tuples(st.just("note"), st.integers(0, 5)),
    st.tuples(st.just("big"), st.integers(0, 1000), st.integers(20, 200)),
    st.tuples(st.just("step"), st.integers(0, 60), st.integers(1, 150), st.integers(1, 3)),
)
"""History operations; ``big`` adds a long multi-line result, ``step`` a mission step (a call or
several and their long results) so current turns can grow far beyond the budget."""


def lines(n: int, tag: int) -> str:
    return "\n".join(f"{tag}: row {i} of the report, value {i * 7}" for i in range(n))


def replay(log: Any, ops: Sequence[tuple[Any, ...]]) -> None:
    calls: list[ToolCall] = []
    for o in ops:
        if o[0] == "user":
            log.user("word " * o[1] + "?")
        elif o[0] == "assistant":
            new = [ToolCall(name="exec", arguments={"n": len(calls) + k}) for k in range(o[2])]
            calls.extend(new)
            log.assistant("said " * o[1], *new)
        elif o[0] == "result" and calls:
            log.result(calls[o[1] % len(calls)], "out " * o[2])
        elif o[0] == "big" and calls:
            log.result(calls[o[1] % len(calls)], lines(o[2], o[1]))
        elif o[0] == "step":
            new = [ToolCall(name=f"tool{k}", arguments={"n": len(calls) + k}) for k in range(o[3])]
            calls.extend(new)
            log.assistant("step " * o[1], *new)
            for k, call in enumerate(new):
                log.result(call, lines(o[2] // (k + 1), k))
        elif o[0] == "ghost":
            log.result(ToolCall(id=f"ghost{o[1]}", name="exec"), "boo")
        else:
            log.add(NoteEvent(text="n" * o[1]))


def assert_pairs(messages: Sequence[Message]) -> None:
    pending: list[str] = []
    for msg in messages:
        if msg.role == "tool":
            assert pending, "a tool result without a preceding call"
            assert msg.tool_results[0].call_id == pending.pop(0)
            continue
        assert not pending, f"calls {pending} not followed by their results"
        pending = [c.id for c in msg.tool_calls]
    assert not pending


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(op, min_size=1, max_size=120),
    more=st.lists(op, max_size=30),
    budget=st.integers(300, 1200),
)
async def test_random_histories_fit_pair_and_reuse_summaries(
    make_log: Any, counting_summarizer: Any, first: list[Any], more: list[Any], budget: int
) -> None:
    log = make_log()
    summarizer = counting_summarizer()
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    message = ""
    for ops in (first, more):
        replay(log, ops)
        try:
            built = await builder.build(
                agent=AGENT, history=log.events, tools=[], budget_tokens=budget
            )
        except ContextOverflowError as exc:
            message = str(exc)
            event("overflow: " + message[:25])
            break
        assert built.input_tokens <= budget
        assert built.input_tokens == count_request(COUNTER, built.request)
        assert_pairs(built.request.messages)
        ranges = [(s.first_seq, s.last_seq) for s in built.summaries]
        assert ranges == sorted(ranges)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
        assert all(0 <= lo <= hi < len(log.events) for lo, hi in ranges)
        event("compacted" if built.summaries else "fits")
        if any(r.truncated for m in built.request.messages for r in m.tool_results):
            event("tool results elided")
        log.add(*built.summaries)
        calls = len(summarizer.calls)
        again = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=budget)
        assert len(summarizer.calls) == calls, "recorded summaries are reused"
        assert again.summaries == ()
        assert again.request.messages == built.request.messages
    if message:  # an overflow names the budget it could not meet
        # Only a user message too big for the budget may overflow, never a long mission.
        users = [e.payload for e in log.events if isinstance(e.payload, UserMessageEvent)]
        assert budget < 600 or (users and len(users[-1].message.text.split()) > 20), message
        assert f"budget {budget}" in message or f"budget is {budget}" in message
