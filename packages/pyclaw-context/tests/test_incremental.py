"""Incremental history walks: a growing history's units equal a walk from scratch, whatever grows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyclaw.context import DefaultContextBuilder, EstimateCounter
from pyclaw.context._history import SummaryIndex, history_units
from pyclaw.context._render import Renderer
from pyclaw.meta import AgentProfile, NoteEvent, SessionEvent, SummaryEvent, ToolCall

AGENT = AgentProfile(name="helper", provider="fake", system_prompt="You help.")
COUNTER = EstimateCounter()
RELAXED = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

grow = st.one_of(
    st.tuples(st.just("user"), st.integers(0, 30)),
    st.tuples(st.just("assistant"), st.integers(0, 20), st.integers(0, 2)),
    st.tuples(st.just("result"), st.integers(0, 100), st.integers(0, 30)),
    st.tuples(st.just("note"), st.integers(0, 5)),
    st.tuples(st.just("summary"), st.integers(0, 500), st.integers(0, 500), st.integers(0, 2)),
    st.tuples(st.just("bad summary"), st.integers(0, 50)),
)
"""History growth; summaries cover random earlier ranges (``bad`` ones cover themselves: ignored)."""

check = st.tuples(st.just("check"), st.integers(0, 1), st.booleans())
"""Walk the history with renderer 0 or 1, passing the log's own list or a copy of it."""


def replay(log: Any, ops: Sequence[tuple[Any, ...]]) -> None:
    calls: list[ToolCall] = []
    for o in ops:
        n = len(log.events)
        if o[0] == "user":
            log.user("word " * o[1] + "?")
        elif o[0] == "assistant":
            new = [ToolCall(name="exec", arguments={"n": len(calls) + k}) for k in range(o[2])]
            calls.extend(new)
            log.assistant("said " * o[1], *new)
        elif o[0] == "result" and calls:
            log.result(calls[o[1] % len(calls)], "out " * o[2])
        elif o[0] == "note":
            log.add(NoteEvent(text="n" * o[1]))
        elif o[0] == "summary" and n:
            first = o[1] % n
            last = first + o[2] % (n - first)
            log.add(SummaryEvent(text=f"s{n}", first_seq=first, last_seq=last, level=o[3]))
        elif o[0] == "bad summary":
            log.add(SummaryEvent(text="bad", first_seq=o[1] % (n + 1), last_seq=n + o[1]))


def scratch(history: Sequence[SessionEvent]) -> Any:
    """The units of a walk from scratch, with fresh caches."""
    return history_units(history, Renderer(COUNTER))


@RELAXED
@given(ops=st.lists(st.one_of(grow, check), max_size=90))
def test_incremental_walks_equal_walks_from_scratch(make_log: Any, ops: list[Any]) -> None:
    """Two renderers (as the builder's uncut and exact ones) share one index, each at its own
    length; summaries appear anywhere, including over ranges that displace older ones."""
    log = make_log()
    index = SummaryIndex()
    renderers = (Renderer(COUNTER), Renderer(COUNTER))
    for i, o in enumerate(ops):
        if o[0] != "check":
            replay(log, ops[i : i + 1])
            continue
        events: list[SessionEvent] = log.events
        history = list(events) if o[2] else events
        renderer = renderers[1] if o[1] else renderers[0]
        assert history_units(history, renderer, index) == scratch(history)
    for renderer in renderers:
        assert history_units(log.events, renderer, index) == scratch(log.events)


@RELAXED
@given(
    ours=st.lists(grow, min_size=1, max_size=60),
    theirs=st.lists(grow, max_size=60),
    rewrite=st.lists(grow, min_size=1, max_size=30),
    keep=st.integers(0, 100),
)
def test_another_session_or_a_rewritten_history_is_walked_again(
    make_log: Any, ours: list[Any], theirs: list[Any], rewrite: list[Any], keep: int
) -> None:
    a, b = make_log("ses_a"), make_log("ses_b")
    replay(a, ours)
    replay(b, theirs)
    rewritten = make_log("ses_a")
    rewritten.events = a.events[: keep % (len(a.events) + 1)]
    replay(rewritten, rewrite)
    index, renderer = SummaryIndex(), Renderer(COUNTER)
    histories: list[list[SessionEvent]] = [
        a.events,
        b.events,
        a.events,
        rewritten.events,
        a.events[: len(a.events) // 2],
        a.events,
        [],
        rewritten.events,
    ]
    for history in histories:
        assert history_units(history, renderer, index) == scratch(history)


class SpyRenderer(Renderer):
    """Records the length of every non-empty stretch of events it is asked to render."""

    def __init__(self) -> None:
        super().__init__(COUNTER)
        self.turns: list[int] = []

    def turn(self, events: Sequence[SessionEvent]) -> Any:
        if events:
            self.turns.append(len(events))
        return super().turn(events)


def test_only_what_the_new_events_change_is_walked_again(make_log: Any) -> None:
    log = make_log()
    for i in range(50):
        log.user(f"question {i}")
        log.assistant(f"answer {i}")
    index, renderer = SummaryIndex(), SpyRenderer()
    history_units(log.events, renderer, index)
    assert len(renderer.turns) == 50
    renderer.turns.clear()
    log.assistant("and more")  # joins the open turn
    units = history_units(log.events, renderer, index)
    assert renderer.turns == [3]
    assert units == scratch(log.events)
    renderer.turns.clear()
    log.user("next")
    history_units(log.events, renderer, index)
    assert renderer.turns == [3, 1]
    renderer.turns.clear()
    log.add(SummaryEvent(text="the first forty", first_seq=0, last_seq=79))
    units = history_units(log.events, renderer, index)
    assert renderer.turns == [2] * 9 + [3, 2]  # the turns after the summary, the last with it
    assert units == scratch(log.events)
    assert units[0].summary is not None
    assert len(units) == 12


async def test_a_long_lived_builder_builds_what_a_new_one_does(make_log: Any) -> None:
    """Turns, recorded summaries, another session and a rewritten history, all on one builder."""
    log, other = make_log("ses_a"), make_log("ses_b")
    builder = DefaultContextBuilder(counter=COUNTER)

    async def same(history: Sequence[SessionEvent]) -> tuple[SummaryEvent, ...]:
        built = await builder.build(agent=AGENT, history=history, tools=[], budget_tokens=500)
        fresh = await DefaultContextBuilder(counter=COUNTER).build(
            agent=AGENT, history=history, tools=[], budget_tokens=500
        )
        assert built == fresh
        return built.summaries

    recorded = 0
    for step in range(60):
        call = ToolCall(name="exec", arguments={"step": step})
        log.user(f"step {step}: check host {step % 7}")
        log.assistant("checking", call)
        log.result(call, f"host {step % 7} " + "fine " * (step % 13))
        await same(log.events)  # the builder's steps within one turn
        log.assistant(f"host {step % 7} is fine")
        made = await same(log.events)
        recorded += len(made)
        log.add(*made)
        if step % 9 == 0:
            other.user(f"other {step}")
            other.assistant("ok " * step)
            await same(other.events)
        if step % 20 == 19:
            rewritten = make_log("ses_a")
            rewritten.events = log.events[: len(log.events) * 2 // 3]
            rewritten.user("a different ending")
            await same(rewritten.events)
    assert recorded >= 3, "the history was compacted and its summaries recorded"
