"""Long missions: a current turn many times the budget is shrunk, never fails, never splits a pair."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from pyclaw.context import (
    ContextSettings,
    DefaultContextBuilder,
    EstimateCounter,
    count_message,
    count_request,
    default_counter,
)
from pyclaw.meta import (
    AgentProfile,
    ArtifactRef,
    BuiltContext,
    ContextOverflowError,
    Message,
    ToolCall,
    ToolResult,
    ToolResultEvent,
    UsageError,
)

AGENT = AgentProfile(name="helper", provider="fake", system_prompt="You help.")
COUNTER = EstimateCounter()


def output(step: int, lines: int) -> str:
    """A multi-line tool output whose first and last lines are recognizable."""
    body = [
        f"step {step} line {i}: the backup of host{i % 7} took {i * 3} seconds"
        for i in range(lines)
    ]
    return "\n".join([f"BEGIN step {step}", *body, f"END step {step}"])


def tool_results(messages: Sequence[Message]) -> list[ToolResult]:
    return [r for m in messages for r in m.tool_results]


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


def earlier_chat(log: Any, turns: int = 4) -> None:
    for i in range(turns):
        log.user(f"Question {i}: what is the retention of the backups?")
        log.assistant(f"Answer {i}: thirty days, " + "as configured " * 20)


async def test_a_30_step_mission_ten_times_the_budget_builds_under_budget(
    make_log: Any, summarizer: Any
) -> None:
    budget = 4000
    log = make_log()
    earlier_chat(log)
    log.user("Audit every backup host and report the slowest one.")
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    contents: dict[str, str] = {}
    built: BuiltContext | None = None
    lined = 0
    for step in range(30):
        call = ToolCall(id=f"call_{step:02d}", name="exec", arguments={"host": f"host{step}"})
        log.assistant(f"Checking host{step}.", call)
        contents[call.id] = output(step, 70)
        log.result(call, contents[call.id])
        built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=budget)
        log.add(*built.summaries)  # as the brain records them
        messages = built.request.messages
        assert built.input_tokens <= budget
        assert built.input_tokens == count_request(COUNTER, built.request)
        assert_pairs(messages)
        results = tool_results(messages)
        assert results[-1].content == contents[call.id], "the newest result is intact"
        assert not results[-1].truncated
        assert messages[-2].tool_calls == (call,), "the newest call is shown as made"
        assert any(
            m.text == "Audit every backup host and report the slowest one." for m in messages
        )
        older = results[:-1]
        stubs = [r for r in older if r.truncated]
        assert older[: len(stubs)] == stubs, "the oldest results are elided first"
        bare = [r for r in stubs if r.content.startswith("[")]
        assert stubs[: len(bare)] == bare, "the oldest stubs lose their lines first"
        assert all(r.content == contents[r.call_id] for r in older[len(stubs) :])
        for result in stubs:
            full = contents[result.call_id]
            assert result.name == "exec"
            assert result.status == "ok"
            assert "tokens elided to fit the context; ask again if needed]" in result.content
            assert len(result.content) < len(full) // 5
            if result not in bare:
                lined += 1
                assert result.content.startswith(full.splitlines()[0] + "\n")
                assert result.content.endswith("\n" + full.splitlines()[-1])
    assert built is not None
    raw = sum(
        count_message(COUNTER, Message.tool(e.payload.result))
        for e in log.events
        if isinstance(e.payload, ToolResultEvent)
    )
    assert raw > 10 * budget, "the mission's results are ten times the budget"
    older = tool_results(built.request.messages)[:-1]
    assert len(older) == 29, "no step was dropped: stubs were enough"
    assert all(r.truncated and r.content.startswith("[") for r in older), "at the end all are bare"
    assert lined, "on the way, newer stubs kept their first and last lines"
    # The view never reaches the log: the recorded results are whole.
    recorded = [e.payload.result for e in log.events if isinstance(e.payload, ToolResultEvent)]
    assert all(r.content == contents[r.call_id] and not r.truncated for r in recorded)


@pytest.mark.parametrize(
    ("budget", "chars", "intact"), [(4096, 16_000, False), (8192, 12_000, True)]
)
async def test_16k_char_results_with_the_real_tokenizer(
    make_log: Any, budget: int, chars: int, *, intact: bool
) -> None:
    counter = default_counter()
    builder = DefaultContextBuilder(counter=counter)
    log = make_log()
    earlier_chat(log)
    log.user("Read every file under docs/ and summarize them.")
    cap = budget // 2  # tool_result_share defaults to half the budget
    for step in range(30):
        call = ToolCall(id=f"call_{step}", name="read_file", arguments={"path": f"docs/{step}.md"})
        log.assistant("", call)
        content = output(step, 400)[:chars]
        log.result(call, content)
        built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=budget)
        log.add(*built.summaries)
        assert built.input_tokens <= budget
        assert built.input_tokens == count_request(counter, built.request)
        assert_pairs(built.request.messages)
        newest = built.request.messages[-1]
        result = newest.tool_results[0]
        if intact:
            assert result.content == content
        else:
            assert count_message(counter, newest) <= cap
            assert count_message(counter, newest) > cap * 0.9, "cut to its share, not below"
            assert result.truncated
            assert content.startswith(result.content.split("\n[")[0])
            assert result.content.endswith("tokens elided to fit the context; ask again if needed]")
        # Stubs count what they leave out of the whole output, not of a capped copy.
        whole = counter.count(content)
        stubs = [r for r in tool_results(built.request.messages)[:-1] if r.truncated]
        assert stubs or step < 3
        for stub in stubs:
            elided = re.search(r"\[(\d+) tokens elided", stub.content)
            assert elided is not None
            assert int(elided.group(1)) > whole * 0.9


async def test_stubs_point_at_artifacts_and_keep_status_and_error(make_log: Any) -> None:
    ref = ArtifactRef(sha256="ab" * 32, size=90_000, media_type="text/plain")
    log = make_log()
    log.user("Fetch the two reports.")
    first = ToolCall(id="call_a", name="http_fetch", arguments={"url": "https://a"})
    log.assistant("", first)
    log.add(
        ToolResultEvent(
            result=ToolResult(
                call_id="call_a",
                name="http_fetch",
                status="error",
                content=output(0, 200),
                artifacts=(ref,),
                untrusted=True,
            )
        )
    )
    second = ToolCall(id="call_b", name="http_fetch", arguments={"url": "https://b"})
    log.assistant("", second)
    log.result(second, output(1, 30))
    built = await DefaultContextBuilder(counter=COUNTER).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=1500
    )
    stub, newest = tool_results(built.request.messages)
    assert (stub.call_id, stub.name, stub.status, stub.untrusted) == (
        "call_a",
        "http_fetch",
        "error",
        True,
    )
    assert stub.artifacts == (ref,)
    assert f"the full output is stored as artifact {ref.uri}" in stub.content
    assert newest.content == output(1, 30)
    assert built.input_tokens <= 1500


async def test_a_mission_far_over_the_budget_drops_its_oldest_steps_whole(
    make_log: Any, summarizer: Any
) -> None:
    budget = 1200
    log = make_log()
    earlier_chat(log, 2)
    log.user("Check all sixty hosts.")
    builder = DefaultContextBuilder(counter=COUNTER, summarizer=summarizer)
    last_content = ""
    built: BuiltContext | None = None
    for step in range(60):
        calls = [
            ToolCall(id=f"c{step}_{k}", name=f"probe{k}", arguments={"n": step}) for k in (0, 1)
        ]
        log.assistant(f"Probing batch {step}: " + "carefully " * 30, *calls)
        for call in calls:
            last_content = output(step, 15)
            log.result(call, last_content)
        built = await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=budget)
        log.add(*built.summaries)
        assert built.input_tokens <= budget
        assert built.input_tokens == count_request(COUNTER, built.request)
        assert_pairs(built.request.messages)
        assert [r.call_id for r in tool_results(built.request.messages)][-2:] == [
            c.id for c in calls
        ]
    assert built is not None
    messages = built.request.messages
    notes = [m.text for m in messages if "earlier steps of this turn elided" in m.text]
    assert len(notes) == 1
    assert "probe0 ×" in notes[0]
    assert "probe1 ×" in notes[0]
    assert len(tool_results(messages)) < 120, "old steps were dropped"
    assert tool_results(messages)[-1].content.startswith("BEGIN step 59")
    assert last_content.startswith("BEGIN step 59")


async def test_shrinking_is_deterministic(make_log: Any) -> None:
    log = make_log()
    earlier_chat(log, 3)
    log.user("Go.")
    for step in range(12):
        call = ToolCall(id=f"call_{step}", name="exec", arguments={"script": "x" * 400})
        log.assistant("Next. " * 40, call)
        log.result(call, output(step, 60))
    builds = [
        await DefaultContextBuilder(counter=COUNTER).build(
            agent=AGENT, history=log.events, tools=[], budget_tokens=1500
        )
        for _ in range(2)
    ]
    builder = DefaultContextBuilder(counter=COUNTER)
    for _ in range(2):
        builds.append(
            await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1500)
        )
    assert all(b.model_dump_json() == builds[0].model_dump_json() for b in builds)
    messages = builds[0].request.messages
    assert_pairs(messages)
    # Older assistant texts and long arguments were cut too, the ids and names kept.
    older_calls = [c for m in messages[:-2] for c in m.tool_calls]
    assert older_calls
    assert all(
        isinstance(c.arguments["script"], str) and len(c.arguments["script"]) < 400
        for c in older_calls
    )
    assert [c.id for c in older_calls] == [f"call_{i}" for i in range(11)][-len(older_calls) :]


async def test_newest_parallel_results_share_what_is_left(make_log: Any) -> None:
    log = make_log()
    log.user("Read the three logs.")
    calls = [ToolCall(id=f"call_{k}", name="read_file", arguments={"k": k}) for k in range(3)]
    log.assistant("", *calls)
    sizes = (5, 400, 400)
    for call, lines in zip(calls, sizes, strict=True):
        log.result(call, output(int(call.id[-1]), lines))
    built = await DefaultContextBuilder(counter=COUNTER).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=3000
    )
    small, big1, big2 = tool_results(built.request.messages)
    assert small.content == output(0, 5), "a small result keeps its share whole"
    for big, step in ((big1, 1), (big2, 2)):
        assert big.truncated
        assert big.content.startswith(f"BEGIN step {step}")
        assert "tokens elided to fit the context" in big.content
    assert built.input_tokens <= 3000


async def test_one_tool_result_is_capped_to_its_share_of_the_budget(make_log: Any) -> None:
    log = make_log()
    log.user("Show me the log.")
    call = ToolCall(id="call_1", name="read_file", arguments={})
    log.assistant("", call)
    log.result(call, output(0, 300))
    log.assistant("Here it is.")
    log.user("Thanks.")
    settings = ContextSettings(tool_result_share=0.25)
    built = await DefaultContextBuilder(counter=COUNTER, settings=settings).build(
        agent=AGENT, history=log.events, tools=[], budget_tokens=8000
    )
    (result,) = tool_results(built.request.messages)
    assert count_message(COUNTER, Message.tool(result)) <= 2000
    assert result.truncated
    assert result.content.startswith("BEGIN step 0")
    assert built.summaries == (), "the history fits once the result is capped"
    assert [m.text for m in built.request.messages][-2:] == ["Here it is.", "Thanks."]


async def test_overflow_only_when_the_users_message_itself_cannot_fit(make_log: Any) -> None:
    log = make_log()
    earlier_chat(log, 2)
    log.user("please read this: " + "lorem ipsum " * 600)
    call = ToolCall(id="call_1", name="exec", arguments={})
    log.assistant("", call)
    log.result(call, output(0, 200))
    builder = DefaultContextBuilder(counter=COUNTER)
    with pytest.raises(ContextOverflowError) as info:
        await builder.build(agent=AGENT, history=log.events, tools=[], budget_tokens=1000)
    assert "but the budget is 1000" in str(info.value)
    assert "current turn" in str(info.value)
    # The same mission with a short message fits the same budget.
    short = make_log()
    earlier_chat(short, 2)
    short.user("please read this")
    short.assistant("", call)
    short.result(call, output(0, 200))
    built = await builder.build(agent=AGENT, history=short.events, tools=[], budget_tokens=1000)
    assert built.input_tokens <= 1000


def test_tool_result_share_is_validated() -> None:
    with pytest.raises(UsageError):
        ContextSettings(tool_result_share=0)
