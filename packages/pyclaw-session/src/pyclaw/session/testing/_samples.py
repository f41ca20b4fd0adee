"""One rich payload of every event kind, for round-trip and view tests."""

from __future__ import annotations

from datetime import UTC, datetime

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    ArtifactRef,
    AssistantMessageEvent,
    CustomEvent,
    ErrorEvent,
    ErrorInfo,
    EventPayload,
    GrantScope,
    GuardActionEvent,
    ImagePart,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    NoteEvent,
    PolicyDecision,
    PolicyDecisionEvent,
    RiskLevel,
    RunFinishedEvent,
    RunStartedEvent,
    RunStatus,
    StopReason,
    SummaryEvent,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    Usage,
    UserMessageEvent,
    Verdict,
)

_WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def sample_payloads() -> list[EventPayload]:
    """A payload of every kind in ``pyclaw.meta.EVENT_KINDS``, with non-default, non-ASCII values."""
    call = ToolCall(
        id="call_1",
        name="read_file",
        arguments={"path": "notes/ünïcode.md", "lines": [1, 2.5, None, True], "nested": {"a": {}}},
    )
    result = ToolResult(
        call_id="call_1",
        name="read_file",
        status="ok",
        content="line one\nline two — ✓ 🎉",
        artifacts=(ArtifactRef(sha256="ab" * 32, size=3, media_type="text/plain", name="a.txt"),),
        untrusted=True,
        truncated=True,
        duration_ms=12.5,
    )
    request = LLMRequest(
        model="gpt-test",
        messages=(Message.system("be brief"), Message.user("hi"), Message.assistant("", (call,))),
        system="system prompt",
        tools=(ToolSpec(name="read_file", description="read", risk=RiskLevel.MODERATE),),
        temperature=0.2,
        max_tokens=256,
        stop=("STOP",),
        response_format={"type": "json_schema", "schema": {"type": "object"}},
        metadata={"trace": "t1"},
    )
    response = LLMResponse(
        model="gpt-test-2026",
        provider="openai",
        message=Message(
            role="assistant",
            parts=(TextPart(text="done"), ImagePart(media_type="image/png", data_base64="AAAA")),
        ),
        stop_reason=StopReason.TOOL_USE,
        usage=Usage(input_tokens=100, output_tokens=20, cached_tokens=64),
        cost_usd=0.00125,
        latency_ms=321.0,
        response_id="resp_1",
        tool_call_errors=(ErrorInfo(type="ParseError", message="bad json"),),
    )
    approval = ApprovalRequest(
        id="apr_1",
        session_id="ses_x",
        run_id="run_x",
        agent="main",
        call=call,
        reason="writes outside the workspace",
        created_at=_WHEN,
        expires_at=_WHEN,
    )
    return [
        UserMessageEvent(message=Message.user("héllo, wörld ✨"), control_event_id="ctl_1"),
        AssistantMessageEvent(message=Message.assistant("sure", (call,)), final=True),
        LLMRequestEvent(call_id="llm_1", provider="openai", request=request),
        LLMResponseEvent(call_id="llm_1", provider="openai", response=response),
        ToolCallEvent(call=call),
        ToolResultEvent(result=result),
        PolicyDecisionEvent(
            call_id="call_1",
            decision=PolicyDecision(
                verdict=Verdict.ASK,
                reason="risky tool",
                tool="exec",
                call_hash=call.call_hash,
                rule="risky-needs-grant",
                grant_id="grt_1",
                expires_at=_WHEN,
            ),
        ),
        ApprovalRequestedEvent(request=approval),
        ApprovalResolvedEvent(
            decision=ApprovalDecision(
                request_id="apr_1",
                call_hash=call.call_hash,
                verdict=Verdict.ALLOW,
                scope=GrantScope.WINDOW,
                window_seconds=600.0,
                decided_by="telegram:42",
                decided_at=_WHEN,
            )
        ),
        GuardActionEvent(hook="before_tool", action="redact", reason="secret in arguments"),
        RunStartedEvent(run_id="run_x", agent="main", trigger="cron:daily"),
        RunFinishedEvent(
            run_id="run_x",
            status=RunStatus.FAILED,
            usage=Usage(input_tokens=1, output_tokens=2, cached_tokens=0),
            cost_usd=0.5,
            error=ErrorInfo(type="ToolError", message="boom", retryable=True, details={"n": 1}),
        ),
        SummaryEvent(text="earlier: greetings", first_seq=0, last_seq=9, level=1),
        NoteEvent(text="watch out", level="warning"),
        ErrorEvent(error=ErrorInfo(type="ProviderError", message="timeout", retryable=True)),
        CustomEvent(name="telegram.reaction", data={"emoji": "👍", "ids": [1, 2], "x": None}),
    ]
