"""Hypothesis: JSON round trips of generated core schemas, every payload kind, and sealed events."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from pyclaw.meta import (
    GENESIS_HASH,
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
    SessionEvent,
    StopReason,
    SummaryEvent,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolCallPart,
    ToolResult,
    ToolResultEvent,
    ToolResultPart,
    ToolSpec,
    Usage,
    UserMessageEvent,
    Verdict,
    parse_payload,
    payload_json,
    verify_chain,
)

# Offsets in whole minutes: pydantic writes UTC offsets to the minute, so an offset with seconds
# (only historical local-mean-time zones have them) would not survive JSON.
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
)
# Years 2..9998: sealing converts to UTC, and year 1 or 9999 at these offsets would leave
# datetime's range (OverflowError); real event times are never near those ends.
aware = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_zones
)
text = st.text(max_size=30)
ids = st.text(min_size=1, max_size=20)
floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=15,
)
json_objects = st.dictionaries(text, json_values, max_size=5)

artifacts = st.builds(
    ArtifactRef,
    sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    size=st.integers(min_value=0),
    media_type=text,
    name=st.none() | text,
)
tool_calls = st.builds(
    ToolCall, id=ids, name=ids, arguments=json_objects, raw_arguments=st.none() | text
)
errors = st.builds(ErrorInfo, type=ids, message=text, retryable=st.booleans(), details=json_objects)
tool_results = st.builds(
    ToolResult,
    call_id=ids,
    name=ids,
    status=st.sampled_from(["ok", "error", "denied", "cancelled", "timeout", "uncertain"]),
    content=text,
    artifacts=st.lists(artifacts, max_size=2).map(tuple),
    error=st.none() | errors,
    untrusted=st.booleans(),
    truncated=st.booleans(),
    duration_ms=st.none() | floats,
)
parts = st.one_of(
    st.builds(TextPart, text=text),
    st.builds(
        ImagePart,
        media_type=text,
        data_base64=st.none() | text,
        url=st.none() | text,
        artifact=st.none() | artifacts,
    ),
    st.builds(ToolCallPart, call=tool_calls),
    st.builds(ToolResultPart, result=tool_results),
)
messages = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    parts=st.lists(parts, max_size=5).map(tuple),
    name=st.none() | text,
)
usages = st.builds(
    Usage,
    input_tokens=st.integers(min_value=0),
    output_tokens=st.integers(min_value=0),
    cached_tokens=st.integers(min_value=0),
)
specs = st.builds(
    ToolSpec,
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    description=text,
    parameters=json_objects,
    risk=st.sampled_from(RiskLevel),
)
llm_requests = st.builds(
    LLMRequest,
    model=ids,
    messages=st.lists(messages, max_size=3).map(tuple),
    system=st.none() | text,
    tools=st.lists(specs, max_size=2).map(tuple),
    temperature=st.none() | floats,
    max_tokens=st.none() | st.integers(min_value=1),
    stop=st.lists(text, max_size=2).map(tuple),
    response_format=st.none() | json_objects,
    metadata=st.dictionaries(text, text, max_size=3),
)
llm_responses = st.builds(
    LLMResponse,
    model=ids,
    provider=ids,
    message=messages,
    stop_reason=st.sampled_from(StopReason),
    usage=usages,
    cost_usd=st.none() | floats,
    latency_ms=st.none() | floats,
    response_id=st.none() | ids,
    tool_call_errors=st.lists(errors, max_size=2).map(tuple),
)
decisions = st.builds(
    PolicyDecision,
    verdict=st.sampled_from(Verdict),
    reason=text,
    tool=ids,
    call_hash=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    rule=st.none() | text,
    grant_id=st.none() | ids,
    expires_at=st.none() | aware,
)

PAYLOAD_STRATEGIES: dict[type[BaseModel], st.SearchStrategy[EventPayload]] = {
    UserMessageEvent: st.builds(
        UserMessageEvent, message=messages, control_event_id=st.none() | ids
    ),
    AssistantMessageEvent: st.builds(AssistantMessageEvent, message=messages, final=st.booleans()),
    LLMRequestEvent: st.builds(LLMRequestEvent, call_id=ids, provider=ids, request=llm_requests),
    LLMResponseEvent: st.builds(
        LLMResponseEvent,
        call_id=ids,
        provider=ids,
        response=st.none() | llm_responses,
        error=st.none() | errors,
    ),
    ToolCallEvent: st.builds(ToolCallEvent, call=tool_calls),
    ToolResultEvent: st.builds(ToolResultEvent, result=tool_results),
    PolicyDecisionEvent: st.builds(PolicyDecisionEvent, call_id=ids, decision=decisions),
    ApprovalRequestedEvent: st.builds(
        ApprovalRequestedEvent,
        request=st.builds(
            ApprovalRequest,
            id=ids,
            session_id=ids,
            run_id=st.none() | ids,
            agent=ids,
            call=tool_calls,
            reason=text,
            created_at=aware,
            expires_at=st.none() | aware,
        ),
    ),
    ApprovalResolvedEvent: st.builds(
        ApprovalResolvedEvent,
        decision=st.builds(
            ApprovalDecision,
            request_id=ids,
            call_hash=ids,
            verdict=st.sampled_from(Verdict),
            scope=st.sampled_from(GrantScope),
            window_seconds=st.none() | st.floats(min_value=0.001, max_value=1e9),
            decided_by=ids,
            decided_at=aware,
        ),
    ),
    GuardActionEvent: st.builds(
        GuardActionEvent,
        hook=st.sampled_from(["before_llm", "after_llm", "before_tool", "after_tool", "outbound"]),
        action=st.sampled_from(["veto", "transform", "redact"]),
        reason=text,
    ),
    RunStartedEvent: st.builds(RunStartedEvent, run_id=ids, agent=ids, trigger=st.none() | text),
    RunFinishedEvent: st.builds(
        RunFinishedEvent,
        run_id=ids,
        status=st.sampled_from(RunStatus),
        usage=usages,
        cost_usd=floats,
        error=st.none() | errors,
    ),
    SummaryEvent: st.builds(
        SummaryEvent,
        text=text,
        first_seq=st.integers(),
        last_seq=st.integers(),
        level=st.integers(),
    ),
    NoteEvent: st.builds(NoteEvent, text=text, level=st.sampled_from(["info", "warning"])),
    ErrorEvent: st.builds(ErrorEvent, error=errors),
    CustomEvent: st.builds(CustomEvent, name=text, data=json_objects),
}
payloads = st.one_of(*PAYLOAD_STRATEGIES.values())


def test_every_payload_kind_has_a_strategy() -> None:
    union, *_ = typing.get_args(EventPayload)
    assert set(PAYLOAD_STRATEGIES) == set(typing.get_args(union))


def _round_trips(value: BaseModel) -> None:
    back = type(value).model_validate_json(value.model_dump_json())
    assert back == value


@settings(max_examples=200, deadline=None)
@given(messages)
def test_message_with_mixed_parts_round_trips(message: Message) -> None:
    _round_trips(message)
    assert message.tool_calls == tuple(p.call for p in message.parts if isinstance(p, ToolCallPart))


@settings(max_examples=200, deadline=None)
@given(tool_calls)
def test_tool_call_with_nested_arguments_round_trips(call: ToolCall) -> None:
    _round_trips(call)
    back = ToolCall.model_validate_json(call.model_dump_json())
    assert back.call_hash == call.call_hash


@settings(max_examples=100, deadline=None)
@given(llm_requests, llm_responses)
def test_llm_request_and_response_round_trip(request: LLMRequest, response: LLMResponse) -> None:
    _round_trips(request)
    _round_trips(response)


@settings(max_examples=300, deadline=None)
@given(payloads)
def test_every_payload_kind_round_trips(payload: EventPayload) -> None:
    _round_trips(payload)
    text = payload_json(payload)
    back = parse_payload(text)
    assert back == payload
    assert payload_json(back) == text  # stable bytes: a re-rendered payload keeps its digest


@settings(max_examples=200, deadline=None)
@given(
    payload=payloads,
    session_id=ids,
    run_id=st.none() | ids,
    ts=aware,
    seq=st.integers(min_value=0, max_value=2**62),
)
def test_sealed_event_round_trips_and_verifies(
    payload: EventPayload, session_id: str, run_id: str | None, ts: datetime, seq: int
) -> None:
    event = SessionEvent.seal(
        session_id=session_id,
        seq=seq,
        payload=payload,
        prev_hash=GENESIS_HASH,
        run_id=run_id,
        ts=ts,
    )
    _round_trips(event)
    back = SessionEvent.model_validate_json(event.model_dump_json())
    assert back.expected_hash() == event.hash
    assert back.ts == ts
    if seq == 0:
        assert verify_chain(session_id, [back]).ok
