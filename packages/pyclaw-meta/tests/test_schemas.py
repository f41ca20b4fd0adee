"""Every exported schema: JSON round trip, schema version, unknown keys rejected, immutability;
and the event payload union with the canonical text the hash chain covers.

Model classes are discovered from ``pyclaw.meta.__all__`` and payload kinds from the
``EventPayload`` union, so a new schema or kind without a sample here fails a test.
"""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import pyclaw.meta as meta
from pyclaw.meta import (
    EVENT_KINDS,
    SCHEMA_VERSION,
    AgentProfile,
    AppliedMigration,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    ArtifactRef,
    AssistantMessageEvent,
    Budget,
    BuiltContext,
    ChainProblem,
    ChainReport,
    ControlEvent,
    CronJob,
    CustomEvent,
    DelegateResult,
    ErrorEvent,
    ErrorInfo,
    EventPayload,
    Grant,
    GrantScope,
    GuardActionEvent,
    ImagePart,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    MemoryHit,
    MemoryItem,
    Message,
    Model,
    NoteEvent,
    OutboundMessage,
    PolicyDecision,
    PolicyDecisionEvent,
    ReplicaAnswer,
    ResponseDone,
    RiskLevel,
    RunFinishedEvent,
    RunRecord,
    RunRequest,
    RunResult,
    RunStartedEvent,
    RunStatus,
    SecretInfo,
    SessionEvent,
    SessionInfo,
    StopReason,
    SummaryEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    ToolCallPart,
    ToolCallReady,
    ToolContext,
    ToolResult,
    ToolResultEvent,
    ToolResultPart,
    ToolSpec,
    Usage,
    UserMessageEvent,
    ValidateResult,
    Verdict,
    parse_payload,
    payload_json,
)

T0 = datetime(2025, 6, 1, 12, 30, 45, 123456, tzinfo=UTC)
CEST = timezone(timedelta(hours=2))
SHA = "ab" * 32

ARTIFACT = ArtifactRef(sha256=SHA, size=2048, media_type="image/png", name="chart.png")
CALL = ToolCall(
    id="call_1",
    name="http_fetch",
    arguments={"url": "https://example.org", "headers": {"Accept": ["text/html", None]}, "n": 2.5},
)
BAD_CALL = ToolCall(id="call_2", name="exec", raw_arguments='{"cmd": "ls -l')
ERROR = ErrorInfo(
    type="ToolError", message="timed out after 30 s", retryable=True, details={"s": 30}
)
RESULT = ToolResult(
    call_id="call_1",
    name="http_fetch",
    status="error",
    content="<html>…</html>",
    artifacts=(ARTIFACT,),
    error=ERROR,
    untrusted=True,
    truncated=True,
    duration_ms=812.5,
)
SPEC = ToolSpec(
    name="http_fetch",
    description="Fetch a URL.",
    parameters={"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    risk=RiskLevel.RISKY,
)
MESSAGE = Message(
    role="assistant",
    parts=(
        TextPart(text="Looking it up — ☀️"),
        ImagePart(media_type="image/jpeg", data_base64="AAEC"),
        ImagePart(url="https://example.org/a.png"),
        ImagePart(artifact=ARTIFACT),
        ToolCallPart(call=CALL),
        ToolCallPart(call=BAD_CALL),
    ),
    name="helper",
)
USAGE = Usage(input_tokens=1200, output_tokens=80, cached_tokens=1000)
REQUEST = LLMRequest(
    model="gpt-4.1-mini",
    messages=(Message.user("weather in Oslo?"), MESSAGE, Message.tool(RESULT)),
    system="You are terse.",
    tools=(SPEC,),
    temperature=0.2,
    max_tokens=512,
    stop=("\n\n",),
    response_format={"type": "json_schema", "schema": {"type": "object"}},
    metadata={"run": "run_1"},
)
RESPONSE = LLMResponse(
    model="gpt-4.1-mini",
    provider="openai",
    message=MESSAGE,
    stop_reason=StopReason.TOOL_USE,
    usage=USAGE,
    cost_usd=0.00042,
    latency_ms=640.25,
    response_id="resp_123",
    tool_call_errors=(ERROR,),
)
DECISION = PolicyDecision(
    verdict=Verdict.ASK,
    reason="exec is risky",
    tool="exec",
    call_hash=CALL.call_hash,
    rule="risky-needs-grant",
    grant_id="grt_1",
    expires_at=T0 + timedelta(minutes=10),
)
APPROVAL = ApprovalRequest(
    id="apr_1",
    session_id="ses_1",
    run_id="run_1",
    agent="main",
    call=CALL,
    reason="risky",
    created_at=T0,
    expires_at=T0 + timedelta(hours=1),
)
ANSWER = ApprovalDecision(
    request_id="apr_1",
    call_hash=CALL.call_hash,
    verdict=Verdict.ALLOW,
    scope=GrantScope.WINDOW,
    window_seconds=600,
    decided_by="telegram:42",
    decided_at=T0.astimezone(CEST),
)
CONTROL = ControlEvent(
    id="ctl_1",
    channel="telegram",
    kind="callback",
    external_id="update:991",
    chat_id="42",
    user_id="42",
    text="/approve",
    data={"callback": "apr_1:allow", "nested": {"a": [1, 2.5, True, None]}},
    received_at=T0.astimezone(CEST),
)
BUDGET = Budget(max_steps=8, max_tokens=20_000, max_cost_usd=0.5, timeout_s=120)
ITEM = MemoryItem(
    id="mem_1",
    agent="main",
    kind="note",
    text="likes metric units",
    source="ses_1",
    created_at=T0,
    expires_at=T0 + timedelta(days=30),
)

PAYLOADS: list[EventPayload] = [
    UserMessageEvent(message=Message.user("hi"), control_event_id="ctl_1"),
    AssistantMessageEvent(message=MESSAGE, final=True),
    LLMRequestEvent(call_id="llm_1", provider="openai", request=REQUEST),
    LLMResponseEvent(call_id="llm_1", provider="openai", response=RESPONSE),
    LLMResponseEvent(call_id="llm_2", provider="openai", error=ERROR),
    ToolCallEvent(call=CALL),
    ToolResultEvent(result=RESULT),
    PolicyDecisionEvent(call_id="call_1", decision=DECISION),
    ApprovalRequestedEvent(request=APPROVAL),
    ApprovalResolvedEvent(decision=ANSWER),
    GuardActionEvent(hook="before_tool", action="veto", reason="path escapes workspace"),
    RunStartedEvent(run_id="run_1", agent="main", trigger="cron:daily"),
    RunFinishedEvent(
        run_id="run_1", status=RunStatus.FAILED, usage=USAGE, cost_usd=0.01, error=ERROR
    ),
    SummaryEvent(text="Earlier: the user asked about Oslo.", first_seq=0, last_seq=41, level=1),
    NoteEvent(text="context trimmed", level="warning"),
    ErrorEvent(error=ERROR),
    CustomEvent(name="x.metric", data={"latency": [1, 2, 3], "ok": True}),
]

REPLICA = ReplicaAnswer(
    index=0, text="42", session_id="201", miner="0xm1", status="ok", agrees=True
)

SAMPLES: list[BaseModel] = [
    Model(),
    ARTIFACT,
    CALL,
    BAD_CALL,
    ERROR,
    RESULT,
    SPEC,
    MESSAGE,
    TextPart(text=""),
    ToolCallPart(call=CALL),
    ToolResultPart(result=RESULT),
    ImagePart(),
    USAGE,
    REQUEST,
    RESPONSE,
    TextDelta(text="Hel"),
    ToolCallDelta(index=0, id="call_1", name="http_fetch", arguments_delta='{"url'),
    ToolCallReady(call=CALL),
    ResponseDone(response=RESPONSE),
    DECISION,
    APPROVAL,
    ANSWER,
    Grant(
        id="grt_1",
        agent="main",
        tool="exec",
        scope=GrantScope.SESSION,
        session_id="ses_1",
        argument_pattern="ls *",
        call_hash=CALL.call_hash,
        created_at=T0,
        expires_at=T0 + timedelta(hours=2),
        revoked_at=T0 + timedelta(hours=1),
    ),
    CONTROL,
    BUDGET,
    Budget(max_steps=None, max_tokens=None, max_cost_usd=None, timeout_s=None),
    RunRequest(
        id="run_1", session_id="ses_1", agent="main", input=Message.user("go"), origin=CONTROL
    ),
    OutboundMessage(
        channel="telegram", chat_id="42", text="done", idempotency_key="out_1", reply_to="7"
    ),
    AgentProfile(
        name="main",
        provider="local",
        model="smollm2",
        system_prompt="Be brief.",
        tools=("read_file", "exec"),
        budget=BUDGET,
        verify=True,
    ),
    CronJob(
        name="daily-news",
        schedule="0 8 * * 1-5",
        timezone="Europe/Oslo",
        agent="main",
        prompt="news",
        created_at=T0,
    ),
    CronJob(name="ping", every_seconds=30, prompt="ping", mode="main", deliver="silent"),
    SessionInfo(
        id="ses_1",
        agent="main",
        channel="telegram",
        created_at=T0,
        title="Oslo",
        external_key="telegram:42",
        metadata={"lang": "en"},
        event_count=12,
        last_event_at=T0 + timedelta(seconds=5),
    ),
    RunRecord(
        id="run_1",
        session_id="ses_1",
        agent="main",
        status=RunStatus.SUCCEEDED,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
        trigger="telegram",
        usage=USAGE,
        cost_usd=0.002,
    ),
    ChainProblem(seq=3, event_id="evt_3", problem="event hash mismatch"),
    ChainReport(
        session_id="ses_1",
        events=4,
        ok=False,
        head_hash=SHA,
        problems=(ChainProblem(seq=3, event_id=None, problem="prev_hash does not link"),),
    ),
    AppliedMigration(component="session", version=2, name="add_runs"),
    ToolContext(
        session_id="ses_1", agent="main", run_id="run_1", workspace="/tmp/ws", tainted=True
    ),
    BuiltContext(
        request=REQUEST,
        input_tokens=812,
        summaries=(SummaryEvent(text="Earlier: Oslo.", first_seq=0, last_seq=41, level=1),),
        memory_ids=("mem_1",),
    ),
    RunResult(
        run_id="run_1",
        status=RunStatus.SUCCEEDED,
        answer=Message.assistant("Sunny."),
        usage=USAGE,
        cost_usd=0.003,
    ),
    ITEM,
    MemoryHit(item=ITEM, score=0.87),
    SecretInfo(name="openai", backend="keyring"),
    SessionEvent.seal(
        session_id="ses_1",
        seq=0,
        payload=PAYLOADS[2],
        prev_hash="0" * 64,
        run_id="run_1",
        event_id="evt_1",
        ts=T0,
    ),
    *PAYLOADS,
    REPLICA,
    DelegateResult(
        provider="router",
        answer="42",
        policy="majority",
        replicas_requested=3,
        replicas=(REPLICA, REPLICA.model_copy(update={"index": 1, "text": "41", "agrees": False})),
        agreeing=1,
        agreement=0.5,
        disagreement=True,
        task_id="dlg-1",
        router_consensus={"strategy": "majority", "replicas": 2},
        latency_ms=1200.0,
        raw={"task_id": "dlg-1", "replicas": ["42", "41"]},
    ),
    ValidateResult(
        provider="router",
        verdict="INVALID",
        score=0.2,
        reasons=("wrong",),
        validators=3,
        risk_level="high",
        raw={"verdict": "INVALID"},
    ),
]


def exported_models() -> list[type[BaseModel]]:
    found = {getattr(meta, name) for name in meta.__all__}
    return sorted(
        (c for c in found if isinstance(c, type) and issubclass(c, BaseModel)),
        key=lambda c: c.__name__,
    )


def sample_of(cls: type[BaseModel]) -> BaseModel:
    return next(s for s in SAMPLES if type(s) is cls)


def test_every_exported_model_has_a_sample() -> None:
    sampled = {type(s) for s in SAMPLES}
    missing = [c.__name__ for c in exported_models() if c not in sampled]
    assert missing == []
    assert len(exported_models()) >= 50  # discovery works (pyclaw.meta exports ~55 schemas)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_json_round_trip_is_lossless(sample: BaseModel) -> None:
    text = sample.model_dump_json()
    back = type(sample).model_validate_json(text)
    assert back == sample
    assert back.model_dump_json() == text
    # The Python-mode dump validates back too (what a backend storing dicts would do).
    assert type(sample).model_validate(sample.model_dump(mode="json")) == sample


@pytest.mark.parametrize(
    "cls",
    [c for c in exported_models() if "schema_version" in c.model_fields],
    ids=lambda c: c.__name__,
)
def test_versioned_schemas_carry_the_current_version(cls: type[BaseModel]) -> None:
    assert cls.model_fields["schema_version"].default == SCHEMA_VERSION
    sample = sample_of(cls)
    assert sample.model_dump()["schema_version"] == SCHEMA_VERSION
    assert f'"schema_version":{SCHEMA_VERSION}' in sample.model_dump_json()


def test_the_wire_schemas_are_versioned() -> None:
    versioned = {c.__name__ for c in exported_models() if "schema_version" in c.model_fields}
    assert {"LLMRequest", "LLMResponse", "ControlEvent", "RunRequest", "SessionEvent"} <= versioned


@pytest.mark.parametrize("cls", exported_models(), ids=lambda c: c.__name__)
def test_unknown_keys_are_rejected(cls: type[BaseModel]) -> None:
    data: dict[str, Any] = sample_of(cls).model_dump(mode="json")
    data["surprise"] = 1
    with pytest.raises(ValidationError) as info:
        cls.model_validate(data)
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]


def test_unknown_keys_are_rejected_in_nested_models_too() -> None:
    event = sample_of(SessionEvent)
    data: dict[str, Any] = event.model_dump(mode="json")
    data["payload"]["request"]["messages"][0]["parts"][0]["colour"] = "red"
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        SessionEvent.model_validate(data)


def test_schemas_are_immutable() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        CALL.name = "other"  # pyright: ignore[reportAttributeAccessIssue] - the point of the test


def test_discriminated_unions_reject_an_unknown_kind() -> None:
    with pytest.raises(ValidationError):
        Message.model_validate({"role": "user", "parts": [{"kind": "video", "url": "x"}]})


def test_cron_job_needs_exactly_one_trigger() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        CronJob(name="x", prompt="p")
    with pytest.raises(ValidationError, match="exactly one"):
        CronJob(name="x", prompt="p", schedule="* * * * *", every_seconds=5)


def payload_classes() -> tuple[type[BaseModel], ...]:
    """The members of the ``EventPayload`` discriminated union."""
    union, *_ = typing.get_args(EventPayload)  # Annotated[Union[...], Field(discriminator=...)]
    members: tuple[type[BaseModel], ...] = typing.get_args(union)
    assert members, "EventPayload is no longer Annotated[Union[...], ...]"
    return members


def kind_of(cls: type[BaseModel]) -> str:
    default = cls.model_fields["kind"].default
    assert isinstance(default, str)
    return default


def test_event_kinds_lists_every_payload_kind_once() -> None:
    kinds = [kind_of(c) for c in payload_classes()]
    assert len(kinds) == len(set(kinds)), "two payload classes share a kind"
    assert sorted(kinds) == sorted(EVENT_KINDS)
    assert len(EVENT_KINDS) == len(set(EVENT_KINDS))


def test_every_payload_kind_has_a_sample() -> None:
    assert {type(p) for p in PAYLOADS} == set(payload_classes())


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.kind)
def test_parse_payload_inverts_payload_json(payload: EventPayload) -> None:
    text = payload_json(payload)
    back = parse_payload(text)
    assert back == payload
    assert type(back) is type(payload)
    assert parse_payload(text.encode()) == payload  # bytes, as read from a BLOB column
    assert payload_json(back) == text  # re-rendering gives the same bytes, so the digest holds
    assert f'"kind":"{payload.kind}"' in text


def test_parse_payload_rejects_unknown_kinds_and_keys() -> None:
    with pytest.raises(ValidationError):
        parse_payload('{"kind": "telepathy", "text": "hi"}')
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        parse_payload('{"kind": "note", "text": "hi", "mood": "calm"}')
    assert parse_payload('{"kind": "note", "text": "hi"}') == NoteEvent(text="hi")


def test_payload_json_is_compact_in_schema_order_and_keeps_unicode() -> None:
    text = payload_json(UserMessageEvent(message=Message.user("é ☀")))
    assert text == (
        '{"kind":"user_message","message":'
        '{"role":"user","parts":[{"kind":"text","text":"é ☀"}],"name":null},'
        '"control_event_id":null}'
    )


def test_delegation_results() -> None:
    result = sample_of(DelegateResult)
    assert isinstance(result, DelegateResult)
    assert result.metadata() == {
        "provider": "router",
        "policy": "majority",
        "replicas_requested": 3,
        "replicas_answered": 2,
        "agreeing": 1,
        "agreement": 0.5,
        "consensus": False,
        "disagreement": True,
        "task_id": "dlg-1",
    }
    verdict = sample_of(ValidateResult)
    assert isinstance(verdict, ValidateResult)
    assert verdict.passed is False
    assert verdict.model_copy(update={"verdict": "VALID"}).passed is True
    with pytest.raises(ValidationError):
        ValidateResult(provider="p", verdict="MAYBE")  # pyright: ignore[reportArgumentType] - invalid on purpose
    with pytest.raises(ValidationError):
        ValidateResult(provider="p", verdict="VALID", score=1.5)
