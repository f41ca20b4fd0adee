"""Policy decisions, human approvals bound to the exact call, and guard hooks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pyclaw_brain_fakes import FakeApprover, FakeGuard, FakePolicy, call, reply

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GuardActionEvent,
    GuardVetoError,
    LLMResponse,
    RunStatus,
    Verdict,
)

ASK = {"exec": Verdict.ASK}


async def test_denied_call_is_not_run_and_the_model_is_told_why(h) -> None:
    h.tools.add("exec")
    policy = FakePolicy({"exec": Verdict.DENY})
    h.llm.script(reply("", call("exec", "e1", command="rm -rf /")), reply("I may not do that."))
    result = await h.run(brain=h.brain(policy=policy))

    assert result.status is RunStatus.SUCCEEDED
    assert h.tools.executed == []
    assert h.kinds()[5:8] == ["tool_call", "policy_decision", "tool_result"]
    decision = h.payloads("policy_decision")[0]
    assert decision.call_id == "e1"
    assert decision.decision.verdict is Verdict.DENY
    denied = h.payloads("tool_result")[0].result
    assert denied.status == "denied"
    assert "exec is deny by the test policy" in denied.content
    await h.assert_sound()


async def test_ask_then_approve_runs_the_call_and_tells_the_policy(h) -> None:
    h.tools.add("exec")
    policy, approver = FakePolicy(ASK), FakeApprover(Verdict.ALLOW)
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    h.llm.script(reply("", call("exec", "e1", command="ls")), reply("listed"))
    brain = h.brain(
        policy=policy, approver=approver, clock=lambda: now, config={"approval_timeout_s": 600}
    )
    result = await h.run(brain=brain)

    assert result.status is RunStatus.SUCCEEDED
    assert [c.id for c, _ in h.tools.executed] == ["e1"]
    assert h.kinds()[5:11] == [
        "tool_call",
        "policy_decision",
        "approval_requested",
        "approval_resolved",
        "policy_decision",
        "tool_result",
    ]
    # the approval became a grant, and the re-check names it (an allow-once grant is consumed)
    recheck = h.payloads("policy_decision")[1].decision
    assert recheck.verdict is Verdict.ALLOW
    assert recheck.grant_id is not None
    assert policy.grants == []
    (request,) = approver.requests
    assert request.call.id == "e1"
    assert request.session_id == h.session_id
    assert request.run_id == result.run_id
    assert request.reason == "exec is ask by the test policy"
    assert request.expires_at == now + timedelta(seconds=600)
    assert h.payloads("approval_requested")[0].request == request
    assert [(r.id, d.verdict) for r, d in policy.decided] == [(request.id, Verdict.ALLOW)]
    await h.assert_sound()


async def test_ask_then_deny_does_not_run_the_call(h) -> None:
    h.tools.add("exec")
    policy, approver = FakePolicy(ASK), FakeApprover(Verdict.DENY)
    h.llm.script(reply("", call("exec", command="ls")), reply("ok, I won't"))
    await h.run(brain=h.brain(policy=policy, approver=approver))
    assert h.tools.executed == []
    result = h.payloads("tool_result")[0].result
    assert result.status == "denied"
    assert "not approved" in result.content
    assert [d.verdict for _, d in policy.decided] == [Verdict.DENY]


async def test_an_approval_for_another_call_counts_as_a_denial(h) -> None:
    h.tools.add("exec")
    policy, approver = FakePolicy(ASK), FakeApprover(Verdict.ALLOW, wrong_hash=True)
    h.llm.script(reply("", call("exec", command="ls")), reply("ok"))
    await h.run(brain=h.brain(policy=policy, approver=approver))
    assert h.tools.executed == []
    result = h.payloads("tool_result")[0].result
    assert result.status == "denied"
    assert "did not match this exact call" in result.content
    assert policy.decided == []  # a mismatched answer never reaches the policy (no grant)
    assert h.payloads("approval_resolved")[0].decision.call_hash == "0" * 64


async def test_without_an_approver_an_ask_is_a_denial(h) -> None:
    h.tools.add("exec")
    h.llm.script(reply("", call("exec", command="ls")), reply("ok"))
    await h.run(brain=h.brain(policy=FakePolicy(ASK)))
    assert h.tools.executed == []
    result = h.payloads("tool_result")[0].result
    assert result.status == "denied"
    assert "no approval surface is connected" in result.content
    assert "approval_requested" not in h.kinds()


async def test_an_unanswered_approval_expires_as_a_denial(h) -> None:
    class Silent:
        async def request_approval(self, request: ApprovalRequest) -> ApprovalDecision:
            await asyncio.sleep(60)
            raise AssertionError("unreachable")

    h.tools.add("exec")
    policy = FakePolicy(ASK)
    h.llm.script(reply("", call("exec", command="ls")), reply("ok"))
    brain = h.brain(policy=policy, approver=Silent(), config={"approval_timeout_s": 0.05})
    result = await h.run(brain=brain)
    assert result.status is RunStatus.SUCCEEDED
    assert h.tools.executed == []
    resolved = h.payloads("approval_resolved")[0].decision
    assert (resolved.verdict, resolved.decided_by) == (Verdict.DENY, "expired")
    assert "expired" in h.payloads("tool_result")[0].result.content
    assert policy.decided == []


async def test_guard_transform_of_the_request_is_recorded_and_applied(h) -> None:
    h.llm.script(reply("ok"))
    await h.run(brain=h.brain(guard=FakeGuard(system="You are careful.")))
    assert h.llm.requests[0].system == "You are careful."
    assert h.payloads("llm_request")[0].request.system == "You are careful."
    (action,) = h.payloads("guard_action")
    assert (action.hook, action.action) == ("before_llm", "transform")
    assert h.kinds().index("guard_action") < h.kinds().index("llm_request")


async def test_guard_veto_of_the_request_fails_the_run(h) -> None:
    h.llm.script(reply("never sent"))
    result = await h.run(brain=h.brain(guard=FakeGuard(veto_llm="prompt contains a secret")))
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.type == "GuardVetoError"
    assert result.error.message == "prompt contains a secret"
    assert h.llm.requests == []
    assert h.payloads("guard_action") == [
        GuardActionEvent(hook="before_llm", action="veto", reason="prompt contains a secret")
    ]
    assert "llm_request" not in h.kinds()
    assert h.payloads("run_finished")[0].status is RunStatus.FAILED


async def test_guard_veto_of_a_tool_call_gives_a_denied_result(h) -> None:
    h.tools.add("exec")
    h.tools.add("read_file")
    h.llm.script(reply("", call("exec", "e1"), call("read_file", "r1")), reply("ok"))
    result = await h.run(brain=h.brain(guard=FakeGuard(veto_tools=("exec",))))
    assert result.status is RunStatus.SUCCEEDED
    assert [c.id for c, _ in h.tools.executed] == ["r1"]
    denied, ran = (p.result for p in h.payloads("tool_result"))
    assert (denied.call_id, denied.status) == ("e1", "denied")
    assert "blocked by the test guard" in denied.content
    assert ran.ok
    (action,) = h.payloads("guard_action")
    assert (action.hook, action.action) == ("before_tool", "veto")


async def test_guard_transform_of_a_result_is_recorded(h) -> None:
    async def leaky(c: object, ctx: object) -> str:
        return "token=sk-123"

    h.tools.add("read_file", leaky)
    h.llm.script(reply("", call("read_file", "r1")), reply("ok"))
    await h.run(brain=h.brain(guard=FakeGuard(redact="sk-123")))
    assert h.payloads("tool_result")[0].result.content == "token=[REDACTED]"
    (action,) = h.payloads("guard_action")
    assert (action.hook, action.action) == ("after_tool", "transform")
    kinds = h.kinds()
    assert kinds.index("guard_action") == kinds.index("tool_result") - 1


async def test_guard_veto_of_the_reply_fails_the_run_and_keeps_the_reply_on_record(h) -> None:
    class NoLeaks(FakeGuard):
        async def after_llm(self, response: LLMResponse) -> LLMResponse:
            raise GuardVetoError("the reply contained a secret")

    h.llm.script(reply("the key is sk-123"))
    result = await h.run(brain=h.brain(guard=NoLeaks()))
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.message == "the reply contained a secret"
    assert result.answer is None
    assert h.kinds()[-4:] == ["llm_request", "llm_response", "guard_action", "run_finished"]
    assert "assistant_message" not in h.kinds()
