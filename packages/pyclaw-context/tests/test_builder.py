"""The builder: system prompt, skills, memories, tools, and the budget."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyclaw.context import (
    ContextSettings,
    DefaultContextBuilder,
    EstimateCounter,
    count_request,
)
from pyclaw.meta import (
    AgentProfile,
    ContextBuilder,
    ContextOverflowError,
    MemoryItem,
    ToolSpec,
    UsageError,
)

AGENT = AgentProfile(name="helper", provider="fake", model="m1", system_prompt="You are terse.")
COUNTER = EstimateCounter()
TOOLS = [
    ToolSpec(
        name="read_file",
        description="Read a file.",
        parameters={"type": "object", "properties": {"path": {"type": "string"}}},
    )
]


def test_it_is_a_context_builder() -> None:
    assert isinstance(DefaultContextBuilder(counter=COUNTER), ContextBuilder)


async def test_request_carries_profile_tools_and_an_exact_count(make_log: Any) -> None:
    log = make_log()
    log.user("hello")
    builder = DefaultContextBuilder(counter=COUNTER, skills=["Answer in English."])
    built = await builder.build(agent=AGENT, history=log.events, tools=TOOLS, budget_tokens=4000)
    req = built.request
    assert req.model == "m1"
    assert req.max_tokens == AGENT.max_output_tokens
    assert req.tools == tuple(TOOLS)
    assert req.system == "You are terse.\n\n## Skills\n\nAnswer in English."
    assert [m.text for m in req.messages] == ["hello"]
    assert built.input_tokens == count_request(COUNTER, req)
    assert built.summaries == ()


async def test_agent_without_model_leaves_it_to_the_provider(make_log: Any) -> None:
    log = make_log()
    log.user("hi")
    agent = AgentProfile(name="a", provider="p", system_prompt="")
    built = await DefaultContextBuilder(counter=COUNTER).build(
        agent=agent, history=log.events, tools=[], budget_tokens=1000
    )
    assert built.request.model == ""
    assert built.request.system is None


async def test_memory_hits_are_rendered_and_reported(make_log: Any, fake_memory: Any) -> None:
    keep = MemoryItem(agent="helper", text="The backup server is called nas01.", kind="fact")
    other = MemoryItem(agent="someone-else", text="The backup server is secret.")
    memory = fake_memory([keep, other])
    log = make_log()
    log.user("where does the backup go?")
    builder = DefaultContextBuilder(
        counter=COUNTER, memory=memory, settings=ContextSettings(memory_limit=3)
    )
    built = await builder.build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=2000, query="backup server"
    )
    assert memory.searches == [("backup server", "helper", 3)]
    assert built.memory_ids == (keep.id,)
    system = built.request.system or ""
    assert "## Relevant memories\n- (fact) The backup server is called nas01." in system
    assert "secret" not in system
    assert built.input_tokens == count_request(COUNTER, built.request)


async def test_memory_is_not_searched_without_a_query(make_log: Any, fake_memory: Any) -> None:
    memory = fake_memory([MemoryItem(agent="helper", text="x")])
    log = make_log()
    log.user("hi")
    built = await DefaultContextBuilder(counter=COUNTER, memory=memory).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1000
    )
    assert memory.searches == []
    assert built.memory_ids == ()


async def test_memories_beyond_their_share_are_left_out(make_log: Any, fake_memory: Any) -> None:
    big = MemoryItem(agent="helper", text="backup " + "detail " * 400)
    small = MemoryItem(agent="helper", text="backup runs at night")
    log = make_log()
    log.user("backup?")
    built = await DefaultContextBuilder(counter=COUNTER, memory=fake_memory([big, small])).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1000, query="backup"
    )
    assert built.memory_ids == (small.id,)


async def test_a_slow_memory_store_is_skipped(make_log: Any, fake_memory: Any) -> None:
    memory = fake_memory([MemoryItem(agent="helper", text="backup")], delay=5.0)
    log = make_log()
    log.user("backup?")
    builder = DefaultContextBuilder(
        counter=COUNTER, memory=memory, settings=ContextSettings(memory_timeout_s=0.05)
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    built = await builder.build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1000, query="backup"
    )
    assert loop.time() - start < 2
    assert built.memory_ids == ()


async def test_oversized_system_prompt_and_tools_overflow(make_log: Any) -> None:
    log = make_log()
    log.user("hi")
    agent = AgentProfile(name="a", provider="p", system_prompt="word " * 500)
    with pytest.raises(
        ContextOverflowError, match=r"system prompt and tool schemas alone need \d+"
    ):
        await DefaultContextBuilder(counter=COUNTER).build(
            agent=agent, history=log.events, tools=TOOLS, budget_tokens=100
        )


async def test_a_current_message_larger_than_the_budget_overflows(
    make_log: Any, summarizer: Any
) -> None:
    log = make_log()
    for i in range(5):
        log.user(f"question {i}")
        log.assistant(f"answer {i}")
    log.user("please read this: " + "lorem ipsum " * 300)
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    with pytest.raises(ContextOverflowError) as info:
        await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=300)
    assert "but the budget is 300" in str(info.value)
    assert "current turn" in str(info.value)
    assert summarizer.calls == [], "no summarizing when it cannot help"


async def test_default_counter_is_tiktoken_and_loads_off_the_loop(make_log: Any) -> None:
    log = make_log()
    log.user("hello world " * 100)  # 1,200 bytes: the byte bound does not fit, exact counts do
    builder = DefaultContextBuilder()
    built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=500)
    assert builder.counter.name == "tiktoken:o200k_base"
    assert built.input_tokens == count_request(builder.counter, built.request)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recent_share": 1.5},
        {"summary_share": 0},
        {"max_summary_level": 0},
        {"memory_timeout_s": 0},
    ],
)
def test_bad_settings_are_usage_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        ContextSettings(**kwargs)


async def test_tool_schemas_are_counted_once_per_spec(
    make_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyclaw.context._builder as builder_module  # noqa: PLC0415 - the counted function
    from pyclaw.context._count import count_tool  # noqa: PLC0415

    counted: list[str] = []
    real = count_tool

    def counting(counter: Any, tool: ToolSpec) -> int:
        counted.append(tool.name)
        return real(counter, tool)

    monkeypatch.setattr(builder_module, "count_tool", counting)
    log = make_log()
    log.user("hello")
    builder = DefaultContextBuilder(counter=COUNTER)
    first = await builder.build(agent=AGENT, history=log.events, tools=TOOLS, budget_tokens=4000)
    again = await builder.build(agent=AGENT, history=log.events, tools=TOOLS, budget_tokens=4000)
    copies = [ToolSpec.model_validate(t.model_dump()) for t in TOOLS]
    assert copies[0] is not TOOLS[0]
    equal = await builder.build(agent=AGENT, history=log.events, tools=copies, budget_tokens=4000)
    other = TOOLS[0].model_copy(update={"description": "Read a whole file, slowly."})
    longer = await builder.build(agent=AGENT, history=log.events, tools=[other], budget_tokens=4000)
    assert counted == ["read_file", "read_file"]  # the first spec, then the changed one only
    assert first.input_tokens == again.input_tokens == equal.input_tokens
    assert longer.input_tokens > first.input_tokens
    assert first.input_tokens == count_request(COUNTER, first.request)
