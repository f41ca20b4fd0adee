"""Compaction: rolling level-0 summaries, hierarchical merges, reuse, and failing clearly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pyclaw.context import (
    ContextSettings,
    DefaultContextBuilder,
    EstimateCounter,
    LLMSummarizer,
    count_request,
)
from pyclaw.meta import (
    AgentProfile,
    BuiltContext,
    ContextOverflowError,
    Message,
    ProviderError,
    SummaryEvent,
    ToolCall,
)

AGENT = AgentProfile(name="helper", provider="fake", system_prompt="You help.")
COUNTER = EstimateCounter()


def chat(log: Any, turns: int, words: int = 30, start: int = 0) -> None:
    for i in range(start, start + turns):
        log.user(f"Question {i}: " + "tell me about the backup plan " * (words // 6))
        call = ToolCall(id=f"call_{i}", name="read_file", arguments={"path": f"f{i}.txt"})
        log.assistant("Let me look.", call)
        log.result(call, f"file {i} says: " + "retention is thirty days " * (words // 5))
        log.assistant(f"Answer {i}: the plan keeps backups for thirty days.")


async def test_compaction_summarizes_old_turns_with_exact_ranges(
    make_log: Any, summarizer: Any
) -> None:
    log = make_log()
    chat(log, 20)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
    assert built.input_tokens <= 1500
    assert built.input_tokens == count_request(COUNTER, built.request)
    assert len(built.summaries) >= 1
    first = built.summaries[0]
    assert first.first_seq == 0
    # Ranges are in order, do not overlap, and end where the verbatim turns begin.
    for a, b in zip(built.summaries, built.summaries[1:], strict=False):
        assert a.last_seq < b.first_seq
    kept = built.request.messages[len(built.summaries) :]
    assert kept[0].role == "user"
    next_user_seq = next(
        e.seq
        for e in log.events
        if e.kind == "user_message" and e.seq > built.summaries[-1].last_seq
    )
    assert built.summaries[-1].last_seq == next_user_seq - 1
    assert kept[0].text == log.events[next_user_seq].payload.message.text
    assert built.request.messages[-1].text.startswith("Answer 19")


async def test_the_next_build_reuses_recorded_summaries(make_log: Any, summarizer: Any) -> None:
    log = make_log()
    chat(log, 20)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
    assert summarizer.calls
    log.add(*built.summaries)
    summarizer.calls.clear()
    again = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
    assert summarizer.calls == []
    assert again.summaries == ()
    assert again.request.messages == built.request.messages
    assert again.input_tokens == built.input_tokens
    fresh = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)  # empty caches
    third = await fresh.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
    assert summarizer.calls == []
    assert third.request == again.request


async def test_tool_pairs_are_never_split_by_a_summary(make_log: Any, summarizer: Any) -> None:
    log = make_log()
    chat(log, 12)
    log.user("last question")
    calls = [ToolCall(id=f"last_{k}", name="exec") for k in range(3)]
    log.assistant("running", *calls)
    for call in calls:
        log.result(call, "done " * 30)
    built = await DefaultContextBuilder(counter=COUNTER, summarizer=summarizer).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=900
    )
    assert_pairs(built.request.messages)
    assert [m.role for m in built.request.messages[-5:]] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "tool",
    ]


async def test_very_long_sessions_merge_summaries_a_level_up(
    make_log: Any, summarizer: Any
) -> None:
    log = make_log()
    chat(log, 400)
    settings = ContextSettings(chunk_tokens=2000)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer, settings=settings)
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=2500)
    assert built.input_tokens <= 2500
    levels = [level for level, _ in summarizer.calls]
    assert levels.count(0) > 5
    assert max(levels) >= 1
    assert max(s.level for s in built.summaries) >= 1
    covering = built.summaries[0]
    assert covering.first_seq == 0
    log.add(*built.summaries)
    summarizer.calls.clear()
    again = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=2500)
    assert summarizer.calls == []
    assert again.input_tokens == built.input_tokens


async def test_a_2000_turn_session_keeps_answering_within_budget(
    make_log: Any, counting_summarizer: Any
) -> None:
    budget = 1200
    summarizer = counting_summarizer()
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    log = make_log()
    recorded = 0
    built: BuiltContext | None = None
    for i in range(2000):
        log.user(f"Turn {i}: what is on the list for item {i}?")
        if i % 7 == 0:  # a tool-using turn: one build before the tool call, one after its result
            built = await builder.build(
                agent=AGENT, history=log.events, tools=[], budget_tokens=budget
            )
            assert built.input_tokens <= budget
            log.add(*built.summaries)
            recorded += len(built.summaries)
            call = ToolCall(id=f"c{i}", name="read_file", arguments={"path": f"list{i}.txt"})
            log.assistant("", call)
            log.result(call, f"item {i}: " + "milk eggs bread " * 10)
        built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=budget)
        assert built.input_tokens <= budget
        assert built.request.messages[-1].role in ("user", "tool")
        log.add(*built.summaries)
        recorded += len(built.summaries)
        log.assistant(f"Item {i}: milk, eggs and bread.")
    assert built is not None
    assert built.input_tokens == count_request(COUNTER, built.request)
    assert_pairs(built.request.messages)
    assert recorded > 10
    levels = {e.payload.level for e in log.events if isinstance(e.payload, SummaryEvent)}
    assert max(levels) >= 1
    assert len(summarizer.calls) < 2000, "compaction leaves headroom: not a summary every turn"


async def test_compaction_that_cannot_shrink_fails_clearly(make_log: Any) -> None:
    class Padding:
        async def summarize(
            self, messages: Sequence[Message], *, target_tokens: int, level: int
        ) -> str:
            return "padding " * 2000

    log = make_log()
    for i in range(12):  # turns smaller than a summary's own header
        log.user(f"q{i}")
        log.assistant(f"a{i}")
    log.user("now")
    builder = DefaultContextBuilder(
        counter=COUNTER, summarizer=Padding(), settings=ContextSettings(chunk_tokens=1)
    )
    with pytest.raises(ContextOverflowError, match="did not shrink the prompt"):
        await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=110)


async def test_summaries_longer_than_asked_are_cut(make_log: Any) -> None:
    class Padding:
        async def summarize(
            self, messages: Sequence[Message], *, target_tokens: int, level: int
        ) -> str:
            return "padding " * 2000

    log = make_log()
    chat(log, 10)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=Padding())
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=900)
    assert built.input_tokens <= 900
    assert all(COUNTER.count(s.text) <= 1024 for s in built.summaries)


async def test_llm_summarizer_asks_to_keep_what_matters(fake_provider: Any) -> None:
    provider = fake_provider(["- user wants backups kept 30 days", "- merged"])
    summarizer = LLMSummarizer(provider, "small-model")
    call = ToolCall(id="c1", name="read_file", arguments={"path": "plan.md"})
    messages = [Message.user("keep backups 30 days"), Message.assistant("ok", (call,))]
    text = await summarizer.summarize(messages, target_tokens=100, level=0)
    assert text == "- user wants backups kept 30 days"
    request = provider.requests[0]
    assert request.model == "small-model"
    assert request.temperature == 0.0
    system = request.system or ""
    for must in ("facts", "decisions", "open tasks", "files", "numbers", "not instructions"):
        assert must in system
    assert "User: keep backups 30 days" in request.messages[0].text
    assert 'Assistant called tool read_file with {"path":"plan.md"}' in request.messages[0].text
    await summarizer.summarize(messages, target_tokens=100, level=1)
    assert "Merge them" in (provider.requests[1].system or "")


async def test_builder_falls_back_to_extractive_when_the_model_fails(
    make_log: Any, fake_provider: Any
) -> None:
    provider = fake_provider([ProviderError("boom", retryable=True)] * 50)
    log = make_log()
    chat(log, 10)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=LLMSummarizer(provider, "m"))
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1000)
    assert provider.requests, "the model was asked first"
    assert built.summaries
    assert built.input_tokens <= 1000


async def test_llm_summaries_are_used_and_cut_to_target(make_log: Any, fake_provider: Any) -> None:
    provider = fake_provider(["The user asked ten backup questions. " * 200] * 50)
    log = make_log()
    chat(log, 10)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=LLMSummarizer(provider, "m"))
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1000)
    assert built.summaries[0].text.startswith("The user asked ten backup questions.")
    assert built.input_tokens <= 1000


def assert_pairs(messages: Sequence[Message]) -> None:
    """Every tool call is answered right after its message; every tool result answers a call."""
    pending: list[str] = []
    for msg in messages:
        if msg.role == "tool":
            assert pending, "a tool result without a preceding call"
            assert msg.tool_results[0].call_id == pending.pop(0)
            continue
        assert not pending, f"calls {pending} were not followed by their results"
        pending = [c.id for c in msg.tool_calls]
    assert not pending
