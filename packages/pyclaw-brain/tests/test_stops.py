"""How runs stop: loops, budgets, provider errors, crashes and cancellation, never orphaning a call."""

from __future__ import annotations

import asyncio

import pytest
from pyclaw_brain_fakes import (
    PROVIDER_DOWN,
    FakePolicy,
    call,
    eventually,
    failing,
    raising,
    reply,
    sleeper,
)

from pyclaw.meta import ErrorInfo, ProviderError, RunStatus, ToolCall, ToolResult, Usage, Verdict


async def test_the_same_failing_call_repeated_stops_the_run(h) -> None:
    h.tools.add("read_file", failing("no such file: notes.txt"))
    h.llm.script(*(reply("", call("read_file", path="notes.txt")) for _ in range(5)))
    result = await h.run()

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.type == "LoopDetected"
    assert "no such file: notes.txt" in result.error.message
    assert result.error.details["failures"] == 3
    assert result.steps == 3
    assert len(h.tools.executed) == 3
    assert h.kinds()[-3:] == ["note", "assistant_message", "run_finished"]
    note = h.payloads("note")[0]
    assert note.level == "warning"
    final = h.payloads("assistant_message")[-1]
    assert final.final is True
    assert "read_file" in final.message.text
    assert "no such file: notes.txt" in final.message.text
    assert result.answer == final.message
    await h.assert_sound()


async def test_a_varying_or_recovering_call_is_not_a_loop(h) -> None:
    outcomes = iter(["fail", "fail", "ok", "fail", "fail", "ok"])

    async def flaky(c: ToolCall, ctx: object) -> ToolResult | str:
        if next(outcomes) == "ok":
            return "fine"
        return ToolResult(
            call_id=c.id,
            name="fetch",
            status="error",
            error=ErrorInfo(type="E", message="flaky"),
        )

    h.tools.add("fetch", flaky)
    h.llm.script(*(reply("", call("fetch", url="u")) for _ in range(6)), reply("got it"))
    result = await h.run()
    assert result.status is RunStatus.SUCCEEDED
    assert len(h.tools.executed) == 6


async def test_step_budget(h) -> None:
    h.tools.add("read_file")
    h.llm.script(*(reply("", call("read_file", path=f"f{i}")) for i in range(10)))
    result = await h.run(max_steps=2)

    assert result.status is RunStatus.FAILED
    assert result.steps == 2
    assert result.error is not None
    assert result.error.type == "BudgetExceededError"
    assert result.error.details["budget"] == "max_steps"
    assert "step budget (2 model calls)" in result.error.message
    final = h.payloads("assistant_message")[-1]
    assert final.final
    assert "step budget" in final.message.text
    assert h.kinds()[-2:] == ["assistant_message", "run_finished"]
    assert h.payloads("run_finished")[0].error == result.error
    await h.assert_sound()


async def test_token_budget_stops_before_acting_and_closes_the_calls(h) -> None:
    h.tools.add("exec")
    big = Usage(input_tokens=900, output_tokens=200)
    h.llm.script(reply("", call("exec", "e1", command="make"), usage=big), reply("never"))
    result = await h.run(max_tokens=1000)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.details["budget"] == "max_tokens"
    assert result.usage == big
    assert h.tools.executed == []  # over budget: the requested call is not run ...
    closed = h.payloads("tool_result")[0].result  # ... but it gets a terminal result
    assert (closed.call_id, closed.status) == ("e1", "cancelled")
    assert "token budget" in closed.content
    await h.assert_sound()


async def test_a_final_answer_over_the_token_budget_is_kept(h) -> None:
    h.llm.script(reply("long answer", usage=Usage(input_tokens=5000, output_tokens=900)))
    result = await h.run(max_tokens=1000)
    assert result.status is RunStatus.SUCCEEDED
    assert result.answer is not None


async def test_cost_budget(h) -> None:
    h.tools.add("read_file")
    h.llm.script(*(reply("", call("read_file", path=f"{i}"), cost=0.02) for i in range(10)))
    result = await h.run(max_cost_usd=0.05)
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.details["budget"] == "max_cost_usd"
    assert result.steps == 3
    assert result.cost_usd == pytest.approx(0.06)
    assert h.payloads("run_finished")[0].cost_usd == pytest.approx(0.06)
    await h.assert_sound()


async def test_time_budget_cancels_the_running_tool_and_records_it(h) -> None:
    h.tools.add("exec", sleeper(5.0))
    h.tools.add("read_file", sleeper(0.01, "contents"))
    h.llm.script(reply("", call("read_file", "r1"), call("exec", "e1", command="sleep 5")))
    started = asyncio.get_running_loop().time()
    result = await h.run(timeout_s=0.3)
    elapsed = asyncio.get_running_loop().time() - started

    assert elapsed < 1.0
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.details["budget"] == "timeout_s"
    quick, slow = (p.result for p in h.payloads("tool_result"))
    assert (quick.call_id, quick.status, quick.content) == ("r1", "ok", "contents")
    assert (slow.call_id, slow.status) == ("e1", "cancelled")
    assert "time budget" in slow.content
    assert h.tools.running == 0  # the slow tool's task was really cancelled
    await h.assert_sound()


async def test_cancellation_mid_tool_records_every_result_and_reraises(h) -> None:
    h.tools.add("exec", sleeper(10.0))
    h.tools.add("read_file", sleeper(0.01, "contents"))
    h.llm.script(reply("", call("read_file", "r1"), call("exec", "e1"), call("exec", "e2", n=2)))
    task = asyncio.create_task(h.run())
    await eventually(lambda: len(h.tools.executed) == 3 and h.tools.running == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert h.tools.running == 0
    results = {p.result.call_id: p.result for p in h.payloads("tool_result")}
    assert results["r1"].status == "ok"  # finished before the cancel: its real result is kept
    assert results["e1"].status == "cancelled"
    assert results["e2"].status == "cancelled"
    assert h.kinds()[-1] == "run_finished"
    finished = h.payloads("run_finished")[0]
    assert finished.status is RunStatus.CANCELLED
    run = await h.log.get_run(finished.run_id)
    assert run.status is RunStatus.CANCELLED
    await h.assert_sound()


async def test_cancellation_during_the_model_call_closes_the_request(h) -> None:
    h.llm.delay = 10.0
    h.llm.script(reply("never"))
    task = asyncio.create_task(h.run())
    await eventually(lambda: bool(h.llm.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.kinds()[-3:] == ["llm_request", "llm_response", "run_finished"]
    response = h.payloads("llm_response")[0]
    assert response.response is None
    assert response.error is not None
    assert response.error.message == "the run was cancelled"


async def test_a_crashing_tool_host_fails_the_run_without_orphans(h) -> None:
    h.tools.add("exec", raising(RuntimeError("sandbox died"), after=0.05))
    h.tools.add("browser", sleeper(5.0))
    h.llm.script(reply("", call("browser", "b1"), call("exec", "e1")))
    result = await h.run()

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.type == "RuntimeError"
    assert "sandbox died" in result.error.message
    results = {p.result.call_id: p.result for p in h.payloads("tool_result")}
    assert results["e1"].status == "error"
    assert "sandbox died" in results["e1"].content
    assert results["b1"].status == "cancelled"
    assert h.payloads("error")[0].error == result.error
    assert h.tools.running == 0
    await h.assert_sound()


async def test_an_unexpected_error_elsewhere_is_recorded_and_returned(h) -> None:
    h.tools.add("read_file")
    h.llm.script(reply("", call("read_file", "r1")), ValueError("bad provider plugin"))
    result = await h.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.type == "ValueError"
    assert h.kinds()[-4:] == ["llm_request", "llm_response", "error", "run_finished"]
    await h.assert_sound()


async def test_a_provider_error_fails_the_run_with_a_clear_message(h) -> None:
    h.llm.script(PROVIDER_DOWN)
    result = await h.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert (
        result.error.message
        == "the model provider 'scripted' failed: HTTP 503: upstream overloaded"
    )
    assert result.error.retryable is True
    response = h.payloads("llm_response")[0]
    assert response.response is None
    assert response.error is not None
    assert response.error.type == "ProviderError"
    assert response.error.details["status"] == 503
    assert h.kinds() == [
        "run_started",
        "user_message",
        "llm_request",
        "llm_response",
        "run_finished",
    ]


async def test_a_stream_without_a_final_response_is_a_provider_error(h) -> None:
    async def cut(request: object):
        raise ProviderError("connection reset mid-stream", retryable=True)

    h.llm.script(cut)
    result = await h.run(brain=h.brain(config={"stream": True}))
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "connection reset mid-stream" in result.error.message


async def test_context_overflow_fails_the_run(h) -> None:
    h.context.overflow = True
    result = await h.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.type == "ContextOverflowError"
    assert h.llm.requests == []


async def test_a_failing_session_write_fails_the_run_without_raising(h) -> None:
    h.log.fail_appends_of = "llm_request"
    h.llm.script(reply("never asked"))
    result = await h.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "disk full" in result.error.message
    assert h.llm.requests == []
    assert h.kinds()[-2:] == ["error", "run_finished"]


async def test_cancellation_while_waiting_for_approval(h) -> None:
    class Waiting:
        def __init__(self) -> None:
            self.asked = False

        async def request_approval(self, request: object) -> object:
            self.asked = True
            await asyncio.sleep(60)
            raise AssertionError("unreachable")

    h.tools.add("exec")
    approver = Waiting()
    h.llm.script(reply("", call("exec", "e1", command="reboot")))
    brain = h.brain(policy=FakePolicy({"exec": Verdict.ASK}), approver=approver)
    task = asyncio.create_task(h.run(brain=brain))
    await eventually(lambda: approver.asked)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.tools.executed == []
    assert h.kinds()[-5:] == [
        "tool_call",
        "policy_decision",
        "approval_requested",
        "tool_result",
        "run_finished",
    ]
    assert h.payloads("tool_result")[0].result.status == "cancelled"
    await h.assert_sound()
