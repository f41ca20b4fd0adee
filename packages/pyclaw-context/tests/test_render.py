"""Events to messages: what is sent, what is not, and how tool calls are paired with results."""

from __future__ import annotations

from typing import Any

from pyclaw.context import EstimateCounter, render_events, summary_text, uncertain_result
from pyclaw.context._history import active_summaries, history_units
from pyclaw.context._render import Renderer
from pyclaw.meta import (
    AgentProfile,
    ApprovalRequest,
    ApprovalRequestedEvent,
    CustomEvent,
    GuardActionEvent,
    ImagePart,
    LLMRequest,
    LLMRequestEvent,
    Message,
    NoteEvent,
    PolicyDecision,
    PolicyDecisionEvent,
    RunStartedEvent,
    SummaryEvent,
    TextPart,
    ToolCall,
    ToolCallEvent,
    UserMessageEvent,
    Verdict,
)

COUNTER = EstimateCounter()


def test_each_conversation_kind_renders_to_its_role(make_log: Any) -> None:
    log = make_log()
    call = ToolCall(id="c1", name="read_file", arguments={"path": "a.txt"})
    log.user("read a.txt")
    log.assistant("Reading.", call)
    log.result(call, "hello")
    log.assistant("It says hello.")
    msgs = render_events(log.events, COUNTER)
    assert [m.role for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[0].text == "read a.txt"
    assert msgs[1].tool_calls == (call,)
    assert msgs[2].tool_results[0].content == "hello"
    assert msgs[2].tool_results[0].call_id == "c1"
    assert msgs[3].text == "It says hello."


def test_bookkeeping_events_are_not_sent(make_log: Any) -> None:
    log = make_log()
    call = ToolCall(id="c1", name="exec")
    log.add(
        RunStartedEvent(run_id="r1", agent="a"),
        LLMRequestEvent(
            call_id="l1", provider="p", request=LLMRequest(model="m", messages=(Message.user("x"),))
        ),
        PolicyDecisionEvent(
            call_id="c1", decision=PolicyDecision(verdict=Verdict.ALLOW, reason="safe", tool="exec")
        ),
        ApprovalRequestedEvent(
            request=ApprovalRequest(session_id="ses_t", agent="a", call=call, reason="risky")
        ),
        GuardActionEvent(hook="before_llm", action="redact", reason="secret"),
        NoteEvent(text="internal"),
        CustomEvent(name="x"),
        ToolCallEvent(call=call),
    )
    assert render_events(log.events, COUNTER) == []


def test_an_orphaned_tool_call_gets_an_uncertain_result(make_log: Any) -> None:
    log = make_log()
    a, b = ToolCall(id="a", name="exec"), ToolCall(id="b", name="write_file")
    log.user("do two things")
    log.assistant("", a, b)
    log.result(b, "written")  # the result for `a` was never recorded (a crash)
    msgs = render_events(log.events, COUNTER)
    assert [m.role for m in msgs] == ["user", "assistant", "tool", "tool"]
    first, second = msgs[2].tool_results[0], msgs[3].tool_results[0]
    assert (first.call_id, first.status) == ("a", "uncertain")
    assert "may or may not have run" in first.content
    assert first == uncertain_result(a)
    assert (second.call_id, second.status, second.content) == ("b", "ok", "written")


def test_a_result_without_its_call_is_dropped(make_log: Any) -> None:
    log = make_log()
    log.user("hi")
    log.result(ToolCall(id="ghost", name="exec"), "boo")
    log.assistant("hello")
    assert [m.role for m in render_events(log.events, COUNTER)] == ["user", "assistant"]


def test_results_follow_their_call_even_when_recorded_out_of_order(make_log: Any) -> None:
    log = make_log()
    a, b = ToolCall(id="a", name="x"), ToolCall(id="b", name="y")
    log.user("go")
    log.assistant("", a, b)
    log.result(b, "B")
    log.result(a, "A")
    msgs = render_events(log.events, COUNTER)
    assert [r.call_id for m in msgs for r in m.tool_results] == ["a", "b"]


def test_user_message_keeps_text_and_images_only(make_log: Any) -> None:
    log = make_log()
    image = ImagePart(url="https://example.org/cat.png")
    log.add(UserMessageEvent(message=Message(role="user", parts=(TextPart(text="look"), image))))
    log.add(UserMessageEvent(message=Message(role="assistant", parts=(TextPart(text="odd"),))))
    msgs = render_events(log.events, COUNTER)
    assert msgs[0].parts == (TextPart(text="look"), image)
    assert msgs[1].role == "user"


def test_empty_assistant_messages_are_skipped(make_log: Any) -> None:
    log = make_log()
    log.user("hi")
    log.assistant("")
    assert [m.role for m in render_events(log.events, COUNTER)] == ["user"]


def test_a_summary_replaces_the_events_it_covers(make_log: Any) -> None:
    log = make_log()
    for i in range(3):
        log.user(f"question {i}")
        log.assistant(f"answer {i}")
    log.add(SummaryEvent(text="Q0 and Q1 were answered.", first_seq=0, last_seq=3))
    log.user("question 3")
    units = history_units(log.events, Renderer(COUNTER))
    texts = [m.text for u in units for m, _ in u.messages]
    assert texts == [
        "Summary of earlier conversation (events 0–3): Q0 and Q1 were answered.",
        "question 2",
        "answer 2",
        "question 3",
    ]
    assert units[0].summary is not None
    assert (units[0].first_seq, units[0].last_seq) == (0, 3)


def test_the_highest_level_then_newest_covering_summary_wins(make_log: Any) -> None:
    log = make_log()
    for i in range(4):
        log.user(f"q{i}")
    log.add(
        SummaryEvent(text="old 0-1", first_seq=0, last_seq=1),
        SummaryEvent(text="old 2", first_seq=2, last_seq=2),
        SummaryEvent(text="merged 0-2", first_seq=0, last_seq=2, level=1),
        SummaryEvent(text="newer 0-1", first_seq=0, last_seq=1),
    )
    chosen = [s.text for _, s in active_summaries(log.events)]
    assert chosen == ["merged 0-2"]
    units = history_units(log.events, Renderer(COUNTER))
    assert [m.text for u in units for m, _ in u.messages] == [
        summary_text(SummaryEvent(text="merged 0-2", first_seq=0, last_seq=2, level=1)),
        "q3",
    ]


def test_counts_are_cached_per_event(make_log: Any) -> None:
    calls: list[str] = []

    class Spy(EstimateCounter):
        def count(self, text: str) -> int:
            calls.append(text)
            return super().count(text)

    log = make_log()
    log.user("hello there")
    log.assistant("hi")
    renderer = Renderer(Spy())
    first = history_units(log.events, renderer)
    n = len(calls)
    assert n > 0
    log.user("next")
    second = history_units(log.events, renderer)
    assert second[0].tokens == first[0].tokens
    assert calls[n:] == ["next"], "only the new event is counted"
    assert AgentProfile(name="a", provider="p").context_tokens >= 512
