"""Memory searches are reused across one turn's model calls, and only there."""

from __future__ import annotations

from typing import Any

from pyclaw.context import DefaultContextBuilder, EstimateCounter
from pyclaw.meta import AgentProfile, BuiltContext, MemoryItem, PyClawError, ToolCall

AGENT = AgentProfile(name="helper", provider="fake", model="m1", system_prompt="You are terse.")
OTHER = AgentProfile(name="other", provider="fake", model="m1")
BACKUP = MemoryItem(agent="helper", text="The backup server is called nas01.", kind="fact")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def builder_for(memory: Any) -> DefaultContextBuilder:
    return DefaultContextBuilder(counter=EstimateCounter(), memory=memory)


async def build(
    builder: DefaultContextBuilder, log: Any, query: str, agent: AgentProfile = AGENT
) -> BuiltContext:
    return await builder.build(
        agent=agent, history=log.events, tools=[], budget_tokens=4000, query=query
    )


async def test_later_steps_of_a_turn_reuse_the_first_search(
    make_log: Any, fake_memory: Any
) -> None:
    memory = fake_memory([BACKUP])
    builder = builder_for(memory)
    log = make_log()
    log.user("where is the backup server?")
    first = await build(builder, log, "backup server")
    call = ToolCall(name="ls", arguments={})
    log.assistant("", call)
    log.result(call, "nothing")  # the turn's second model call: same user message, same query
    second = await build(builder, log, "backup server")
    assert len(memory.searches) == 1
    assert first.memory_ids == second.memory_ids == (BACKUP.id,)
    assert first.request.system == second.request.system


async def test_a_new_turn_searches_again_even_with_the_same_text(
    make_log: Any, fake_memory: Any
) -> None:
    memory = fake_memory([BACKUP])
    builder = builder_for(memory)
    log = make_log()
    log.user("backup server")
    await build(builder, log, "backup server")
    log.assistant("It is nas01.")
    added = MemoryItem(agent="helper", text="The backup server moved to nas02.", kind="fact")
    await memory.add(added)
    log.user("backup server")
    built = await build(builder, log, "backup server")
    assert len(memory.searches) == 2
    assert added.id in built.memory_ids


async def test_another_query_or_agent_searches_again(make_log: Any, fake_memory: Any) -> None:
    memory = fake_memory([BACKUP])
    builder = builder_for(memory)
    log = make_log()
    log.user("backup")
    await build(builder, log, "backup server")
    await build(builder, log, "backup location")
    await build(builder, log, "backup server", agent=OTHER)
    assert [(q, a) for q, a, _ in memory.searches] == [
        ("backup server", "helper"),
        ("backup location", "helper"),
        ("backup server", "other"),
    ]


async def test_hits_expire_after_the_reuse_window(make_log: Any, fake_memory: Any) -> None:
    memory = fake_memory([BACKUP])
    builder = builder_for(memory)
    clock = Clock()
    builder.recall = type(builder.recall)(reuse_s=30.0, clock=clock)
    log = make_log()
    log.user("backup server")
    await build(builder, log, "backup server")
    clock.now += 29.0
    await build(builder, log, "backup server")
    assert len(memory.searches) == 1
    clock.now += 1.0
    await build(builder, log, "backup server")
    assert len(memory.searches) == 2


async def test_a_new_store_is_searched(make_log: Any, fake_memory: Any) -> None:
    builder = builder_for(fake_memory([]))
    log = make_log()
    log.user("backup server")
    assert (await build(builder, log, "backup server")).memory_ids == ()
    builder.memory = fake_memory([BACKUP])
    assert (await build(builder, log, "backup server")).memory_ids == (BACKUP.id,)


async def test_a_failed_search_is_not_kept(make_log: Any, fake_memory: Any) -> None:
    memory = fake_memory([BACKUP])
    real_search = memory.search
    failures = [PyClawError("the memory database is locked")]

    async def flaky(query: str, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_search(query, **kwargs)

    memory.search = flaky
    builder = builder_for(memory)
    log = make_log()
    log.user("backup server")
    assert (await build(builder, log, "backup server")).memory_ids == ()
    assert (await build(builder, log, "backup server")).memory_ids == (BACKUP.id,)
