"""The loop itself: text turns, multi-step tool use, the recorded events and what the model sees."""

from __future__ import annotations

import pytest
from pyclaw_brain_fakes import RecordingObserver, call, reply

from pyclaw.brain import PLAN_NOTE, AgentBrain, BrainSettings
from pyclaw.meta import (
    Brain,
    ControlEvent,
    Message,
    NoteEvent,
    RunRequest,
    RunStatus,
    SummaryEvent,
    ToolCall,
    ToolContext,
    Usage,
    UsageError,
)

STEP = ["llm_request", "llm_response", "assistant_message"]
TOOL = ["tool_call", "tool_result"]


async def test_a_text_turn_records_the_exchange_and_returns_the_answer(h) -> None:
    h.llm.script(reply("Hi there!", usage=Usage(input_tokens=12, output_tokens=3), cost=0.001))
    result = await h.run("hello")

    assert result.status is RunStatus.SUCCEEDED
    assert result.answer == Message.assistant("Hi there!")
    assert result.steps == 1
    assert result.usage == Usage(input_tokens=12, output_tokens=3)
    assert result.cost_usd == 0.001
    assert result.error is None
    assert h.kinds() == ["run_started", "user_message", *STEP, "run_finished"]
    finished = h.payloads("run_finished")[0]
    assert finished.status is RunStatus.SUCCEEDED
    assert finished.usage == result.usage
    assert (await h.log.get_run(result.run_id)).status is RunStatus.SUCCEEDED
    assert h.payloads("assistant_message")[0].final is True
    await h.assert_sound()


async def test_multi_step_tool_use_read_edit_exec_answer(h) -> None:
    for name in ("read_file", "edit_file", "exec"):
        h.tools.add(name)
    h.llm.script(
        reply("Let me look.", call("read_file", "c1", path="app.py")),
        reply("", call("edit_file", "c2", path="app.py", old="bug", new="fix")),
        reply("", call("exec", "c3", command="pytest -q")),
        reply("Fixed the bug; the tests pass."),
    )
    result = await h.run("fix the bug in app.py")

    assert result.status is RunStatus.SUCCEEDED
    assert result.answer is not None
    assert result.answer.text == "Fixed the bug; the tests pass."
    assert result.steps == 4
    assert result.usage.total_tokens == 4 * 15
    assert h.kinds() == [
        "run_started",
        "user_message",
        *STEP,
        *TOOL,
        *STEP,
        *TOOL,
        *STEP,
        *TOOL,
        *STEP,
        "run_finished",
    ]
    assert [c.name for c, _ in h.tools.executed] == ["read_file", "edit_file", "exec"]
    assert [p.result.call_id for p in h.payloads("tool_result")] == ["c1", "c2", "c3"]
    assert [p.final for p in h.payloads("assistant_message")] == [False, False, False, True]
    # The model saw each tool's result in its next request.
    last = h.llm.requests[-1]
    assert [m.role for m in last.messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert last.messages[-1].tool_results[0].content == "exec ok"
    # Every event belongs to the run; requests and responses pair by call id.
    assert {e.run_id for e in h.log.events[h.session_id]} == {result.run_id}
    requests = [p.call_id for p in h.payloads("llm_request")]
    assert requests == [p.call_id for p in h.payloads("llm_response")]
    assert len(set(requests)) == 4
    await h.assert_sound()


async def test_request_gets_agent_model_output_limit_tools_and_budget(h) -> None:
    h.tools.add("read_file")
    h.tools.add("exec")
    h.agent = h.agent.model_copy(
        update={"tools": ("read_file",), "context_tokens": 4096, "max_output_tokens": 512}
    )
    h.llm.script(reply("ok"))
    await h.run("what is in notes.txt?")

    sent = h.llm.requests[0]
    assert sent.model == "fake-1"
    assert sent.max_tokens == 512
    assert [t.name for t in sent.tools] == ["read_file"]
    build = h.context.builds[0]
    assert build["tools"] == ["read_file"]
    assert build["budget_tokens"] == 4096 - 512
    assert build["query"] == "what is in notes.txt?"
    assert h.payloads("llm_request")[0].request == sent
    assert h.payloads("llm_request")[0].provider == "scripted"


async def test_history_is_read_incrementally_across_steps_and_runs(h) -> None:
    h.tools.add("read_file")
    brain = h.brain()
    h.llm.script(reply("", call("read_file", path="a")), reply("done"))
    await h.run("first", brain=brain)
    h.llm.script(reply("again"))
    await h.run("second", brain=brain)

    # Each read starts after the last event already known: it never re-reads the session.
    assert h.log.reads == sorted(h.log.reads)
    assert h.log.reads.count(-1) == 1  # the first read of the session
    # One read per run, at its first step (for the run_started the log wrote): a later step
    # follows the brain's own append, which showed nobody else wrote meanwhile.
    assert len(h.log.reads) == 2
    # The builder got the whole session each step, including the previous run.
    history = h.context.builds[-1]["history"]
    assert [e.seq for e in history] == list(range(len(history)))
    assert history[-1].kind == "user_message"
    assert sum(1 for e in history if e.kind == "user_message") == 2


async def test_events_written_by_others_meanwhile_are_seen(h) -> None:
    brain = h.brain()
    h.llm.script(reply("one"))
    await h.run("first", brain=brain)
    await h.log.append(h.session_id, NoteEvent(text="written by the runtime"))
    h.llm.script(reply("two"))
    await h.run("second", brain=brain)
    kinds = [e.kind for e in h.context.builds[-1]["history"]]
    assert "note" in kinds
    assert kinds.count("user_message") == 2


async def test_events_written_by_others_during_a_step_are_read_before_the_next(h) -> None:
    async def busy(call: ToolCall, context: ToolContext) -> str:
        await h.log.append(h.session_id, NoteEvent(text="written while the tool ran"))
        return "busy ok"

    h.tools.add("busy", busy)
    h.llm.script(reply("", call("busy")), reply("done"))
    await h.run("go")
    assert len(h.log.reads) == 2  # the gap before the tool result made the second step read
    kinds = [e.kind for e in h.context.builds[-1]["history"]]
    assert kinds[-3:] == ["tool_call", "note", "tool_result"]
    assert [e.seq for e in h.context.builds[-1]["history"]] == list(range(len(kinds)))


async def test_summaries_from_the_builder_are_recorded_before_the_request(h) -> None:
    summary = SummaryEvent(text="Earlier: the user likes tea.", first_seq=0, last_seq=1)
    h.context.summaries = (summary,)
    h.llm.script(reply("noted"))
    await h.run()
    assert h.kinds() == ["run_started", "user_message", "summary", *STEP, "run_finished"]
    assert h.payloads("summary") == [summary]


async def test_origin_becomes_the_trigger_and_control_event_id(h) -> None:
    origin = ControlEvent(channel="telegram", external_id="42", chat_id="1", user_id="7")
    request = RunRequest(
        session_id=h.session_id, agent="main", input=Message.user("hi"), origin=origin
    )
    h.llm.script(reply("hey"))
    await h.brain().run(request)
    assert h.payloads("run_started")[0].trigger == "telegram"
    assert h.payloads("user_message")[0].control_event_id == origin.id


async def test_observer_sees_every_event_once_in_order(h) -> None:
    h.tools.add("read_file")
    h.llm.script(reply("", call("read_file", path="x")), reply("done"))
    observer = RecordingObserver()
    await h.brain().run(h.request(), observer=observer)
    assert [e.id for e in observer.events] == [e.id for e in h.log.events[h.session_id]]


async def test_a_failing_observer_does_not_break_the_run(h) -> None:
    h.llm.script(reply("fine"))
    brain = h.brain(config={"stream": True})
    result = await brain.run(h.request(), observer=RecordingObserver(fail=True))
    assert result.status is RunStatus.SUCCEEDED


async def test_streaming_forwards_text_deltas_and_keeps_the_final_response(h) -> None:
    h.llm.script(reply("streamed answer here"))
    observer = RecordingObserver()
    result = await h.brain(config={"stream": True}).run(h.request(), observer=observer)
    assert "".join(observer.texts).strip() == "streamed answer here"
    assert len(observer.texts) == 3
    assert result.answer is not None
    assert result.answer.text == "streamed answer here"
    assert h.payloads("llm_response")[0].response.message.text == "streamed answer here"


async def test_plan_first_asks_for_a_plan_once_and_records_it(h) -> None:
    h.tools.add("read_file")
    h.llm.script(
        reply("1. read the file\n2. answer", call("read_file", path="a")),
        reply("The file says hi."),
    )
    result = await h.run(brain=h.brain(config={"plan_first": True}))
    assert result.status is RunStatus.SUCCEEDED
    first, second = h.llm.requests
    assert first.system is not None
    assert first.system.endswith(PLAN_NOTE)
    assert first.system.startswith(h.agent.system_prompt)
    assert second.system == h.agent.system_prompt
    notes = h.payloads("note")
    assert [n.text for n in notes] == ["plan: 1. read the file\n2. answer"]
    kinds = h.kinds()
    assert kinds.index("note") == kinds.index("assistant_message") - 1


async def test_plan_first_with_a_direct_answer_records_no_plan(h) -> None:
    h.llm.script(reply("42"))
    result = await h.run(brain=h.brain(config={"plan_first": True}))
    assert result.answer == Message.assistant("42")
    assert h.payloads("note") == []


async def test_unknown_cost_is_noted_when_a_cost_budget_applies(h) -> None:
    h.llm.script(reply("a", cost=None))
    result = await h.run(max_cost_usd=1.0)
    assert result.status is RunStatus.SUCCEEDED
    assert result.cost_usd == 0.0
    notes = h.payloads("note")
    assert len(notes) == 1
    assert "cost" in notes[0].text
    assert "unknown" in notes[0].text


async def test_agent_brain_is_a_brain_and_rejects_other_agents(h) -> None:
    brain = h.brain()
    assert isinstance(brain, Brain)
    assert isinstance(brain, AgentBrain)
    assert brain.settings == BrainSettings()
    other = RunRequest(session_id=h.session_id, agent="other", input=Message.user("x"))
    with pytest.raises(UsageError, match="other"):
        await brain.run(other)
    assert h.kinds() == []
