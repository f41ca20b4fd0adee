"""The inline approval prompt of ``pyclaw chat``: each answer becomes the matching decision."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pyclaw.meta import ApprovalDecision, ApprovalRequest, GrantScope, ToolCall, Verdict
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._chat import describe_call, terminal_presenter


class RecordingApprovals:
    def __init__(self) -> None:
        self.resolved: list[tuple[str, ApprovalDecision]] = []

    async def resolve(self, request_id: str, decision: ApprovalDecision) -> ApprovalDecision:
        self.resolved.append((request_id, decision))
        return decision


def request() -> ApprovalRequest:
    call = ToolCall(name="exec", arguments={"command": "rm -rf build"})
    return ApprovalRequest(session_id="ses_1", agent="main", call=call, reason="exec is risky")


@pytest.mark.parametrize(
    ("typed", "verdict", "scope", "window"),
    [
        ("o\n", Verdict.ALLOW, GrantScope.ONCE, None),
        ("w\n", Verdict.ALLOW, GrantScope.WINDOW, 600.0),
        ("session\n", Verdict.ALLOW, GrantScope.SESSION, None),
        ("a\n", Verdict.ALLOW, GrantScope.FOREVER, None),
        ("d\n", Verdict.DENY, GrantScope.ONCE, None),
        ("maybe\nx\nd\n", Verdict.DENY, GrantScope.ONCE, None),  # asks again until it is clear
        ("", Verdict.DENY, GrantScope.ONCE, None),  # end of input denies
    ],
)
async def test_each_answer_resolves_the_exact_request(
    monkeypatch: pytest.MonkeyPatch,
    typed: str,
    verdict: Verdict,
    scope: GrantScope,
    window: float | None,
) -> None:
    approvals = RecordingApprovals()
    runtime = cast("AgentRuntime", cast("Any", SimpleNamespace(approvals=approvals)))
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    asked = request()
    await terminal_presenter([runtime], interactive=True)(asked)
    ((request_id, decision),) = approvals.resolved
    assert request_id == asked.id
    assert decision.call_hash == asked.call_hash
    assert (decision.verdict, decision.scope, decision.window_seconds) == (verdict, scope, window)
    assert "rm -rf build" in stderr.getvalue()


async def test_without_a_terminal_it_says_how_to_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    approvals = RecordingApprovals()
    runtime = cast("AgentRuntime", cast("Any", SimpleNamespace(approvals=approvals)))
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    asked = request()
    await terminal_presenter([runtime], interactive=False)(asked)
    assert approvals.resolved == []
    assert f"pyclaw approvals approve {asked.id}" in stderr.getvalue()


def test_long_calls_are_shortened() -> None:
    call = ToolCall(name="write_file", arguments={"content": "x" * 1000})
    text = describe_call(ApprovalRequest(session_id="s", agent="a", call=call, reason="r"))
    assert len(text) == 300
    assert text.endswith("…")
