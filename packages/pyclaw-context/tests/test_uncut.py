"""Building without a tokenizer: upper bounds, remembered exact counts, and the switch to exact."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.context import (
    AutoCounter,
    ContextSettings,
    CountCache,
    DefaultContextBuilder,
    TiktokenCounter,
    count_request,
)
from pyclaw.meta import AgentProfile, BuiltContext, MemoryItem, ToolCall, ToolSpec

SYSTEM = "You are a careful assistant. " * 8  # 232 bytes: worth remembering
AGENT = AgentProfile(name="helper", provider="fake", model="m1", system_prompt=SYSTEM)
TOOLS = [
    ToolSpec(
        name=f"tool_{i}",
        description="Read a file from the workspace and return its text. " * 3,
        parameters={"type": "object", "properties": {"path": {"type": "string"}}},
    )
    for i in range(4)
]


@pytest.fixture(scope="module")
def exact(tmp_path_factory: pytest.TempPathFactory) -> TiktokenCounter:
    counter = TiktokenCounter(cache_dir=tmp_path_factory.mktemp("bpe"))
    counter.prepare()
    return counter


def lazy_counter(tmp_path: Path) -> AutoCounter:
    """The default counter, with its remembered counts in ``tmp_path``."""
    return AutoCounter(counts=CountCache(tmp_path / "counts.json"))


async def build(builder: DefaultContextBuilder, history: Any, budget: int) -> BuiltContext:
    return await builder.build(agent=AGENT, history=history, tools=TOOLS, budget_tokens=budget)


async def reference(history: Any, budget: int, exact: TiktokenCounter, **kw: Any) -> BuiltContext:
    """What a builder counting exactly from the start makes of the same input."""
    return await DefaultContextBuilder(counter=exact, **kw).build(
        agent=AGENT, history=history, tools=TOOLS, budget_tokens=budget
    )


async def test_a_prompt_that_fits_by_bytes_needs_no_tokenizer(
    make_log: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    log = make_log()
    log.user("Say hello to the benchmark.")
    counter = lazy_counter(tmp_path)
    built = await build(DefaultContextBuilder(counter=counter), log.events, 4000)
    assert not counter.ready, "the encoding was loaded although the bound fit"
    same = await reference(log.events, 4000, exact)
    assert built.request == same.request
    assert built.input_tokens >= count_request(exact, built.request), "an upper bound"
    assert built.input_tokens <= 4000


async def test_a_prompt_over_the_byte_bound_is_counted_exactly(
    make_log: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    log = make_log()
    log.user("hello world " * 100)
    counter = lazy_counter(tmp_path)
    builder = DefaultContextBuilder(counter=counter)
    built = await build(builder, log.events, 1200)  # ~1,650 bytes in all, ~550 tokens
    assert counter.ready
    assert built.input_tokens == count_request(exact, built.request)
    assert built.request == (await reference(log.events, 1200, exact)).request
    log.user("and again")
    again = await build(builder, log.events, 1200)
    assert again.input_tokens == count_request(exact, again.request), "exact from now on"


async def test_exact_counts_of_stable_texts_carry_over_to_the_next_process(
    make_log: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    log = make_log()
    log.user("hello world " * 20)
    first = lazy_counter(tmp_path)
    await build(DefaultContextBuilder(counter=first), log.events, 700)
    assert first.ready, "system prompt and tools exceed 700 bytes: exact counting needed"
    second = lazy_counter(tmp_path)  # a new process: same file, nothing loaded
    built = await build(DefaultContextBuilder(counter=second), log.events, 700)
    assert not second.ready
    assert built.request == (await reference(log.events, 700, exact)).request
    message_bytes = len(("hello world " * 20).encode())
    exact_total = count_request(exact, built.request)
    assert exact_total <= built.input_tokens <= exact_total + message_bytes


async def test_a_memory_dropped_only_by_its_bound_is_counted_exactly(
    make_log: Any, fake_memory: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    text = "the backup server is called gamma " * 6  # 204 bytes, ~42 tokens
    memory = fake_memory([MemoryItem(agent="helper", kind="fact", text=text)])
    log = make_log()
    log.user("which backup server?")
    settings = ContextSettings(memory_share=0.1)  # 100 tokens of a 1,000 budget
    counter = lazy_counter(tmp_path)
    builder = DefaultContextBuilder(counter=counter, memory=memory, settings=settings)
    built = await builder.build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1000, query="backup server"
    )
    assert counter.ready
    assert len(built.memory_ids) == 1, "the exact count fits the memory share"
    same = await DefaultContextBuilder(counter=exact, memory=memory, settings=settings).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1000, query="backup server"
    )
    assert built.request == same.request


async def test_a_tool_result_over_the_cap_only_by_its_bound_is_not_cut(
    make_log: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    log = make_log()
    log.user("list the files")
    call = ToolCall(id="c1", name="tool_0", arguments={"path": "."})
    log.assistant("", call)
    log.result(call, "report.txt " * 80)  # 880 bytes, ~160 tokens
    counter = lazy_counter(tmp_path)
    builder = DefaultContextBuilder(counter=counter)
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
    # ~1,250 bytes in all fit 1,500, but the result's 880 bytes exceed the 750 cap: exact
    assert counter.ready
    assert built.request.messages[-1].tool_results[0].content == "report.txt " * 80
    same = await DefaultContextBuilder(counter=exact).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1500
    )
    assert built.request == same.request


async def test_a_tool_result_over_the_cap_is_cut_as_with_exact_counts(
    make_log: Any, tmp_path: Path, exact: TiktokenCounter
) -> None:
    rng = random.Random(1)
    content = "".join(rng.choice("!@#$%^&*()[]{};:,.<>?/|~") for _ in range(900))  # ~600 tokens
    log = make_log()
    log.user("list the files")
    call = ToolCall(id="c1", name="tool_0", arguments={"path": "."})
    log.assistant("", call)
    log.result(call, content)
    settings = ContextSettings(tool_result_share=0.3)  # a 450-token cap; ~1,250 bytes fit 1,500
    counter = lazy_counter(tmp_path)
    built = await DefaultContextBuilder(counter=counter, settings=settings).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1500
    )
    same = await DefaultContextBuilder(counter=exact, settings=settings).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1500
    )
    assert built.request == same.request
    assert built.request.messages[-1].tool_results[0].truncated


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_the_bound_never_undercounts(exact: TiktokenCounter, text: str) -> None:
    counter = AutoCounter(counts=CountCache(Path("/nonexistent/counts.json")))
    assert counter.bound(text) >= exact.count(text)
    assert not counter.ready
