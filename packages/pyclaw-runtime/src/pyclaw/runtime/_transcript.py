"""A session's events as a readable transcript, one line per event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyclaw.meta import (
    ApprovalRequestedEvent,
    ApprovalResolvedEvent,
    AssistantMessageEvent,
    CustomEvent,
    ErrorEvent,
    EventPayload,
    GuardActionEvent,
    LLMRequestEvent,
    LLMResponseEvent,
    Message,
    NoteEvent,
    PolicyDecisionEvent,
    RunFinishedEvent,
    RunStartedEvent,
    SessionEvent,
    SessionInfo,
    SummaryEvent,
    ToolCallEvent,
    ToolResultEvent,
    UserMessageEvent,
)
from pyclaw.runtime._render import clip, when


def _message(message: Message) -> str:
    parts = [clip(message.text, 400)] if message.text else []
    parts.extend(f"[calls {call.name}]" for call in message.tool_calls)
    return " ".join(parts) or "(empty)"


def _args(arguments: dict[str, Any]) -> str:
    return clip(json.dumps(arguments, ensure_ascii=False, sort_keys=True), 160)


def _llm_request(p: LLMRequestEvent) -> str:
    r = p.request
    return f"→ llm {p.provider} {r.model}: {len(r.messages)} messages, {len(r.tools)} tools"


def _llm_response(p: LLMResponseEvent) -> str:
    if p.error is not None:
        return f"← llm {p.provider} failed: {clip(p.error.message)}"
    if p.response is None:
        return f"← llm {p.provider}: no response"
    u = p.response.usage
    return (
        f"← llm {p.provider} {p.response.model}: {u.input_tokens} in / {u.output_tokens} out "
        f"tokens, {p.response.stop_reason.value}"
    )


def _tool_result(p: ToolResultEvent) -> str:
    r = p.result
    detail = r.error.message if r.error is not None else r.content
    return f"tool {r.name} → {r.status}: {clip(detail)}"


def _run_finished(p: RunFinishedEvent) -> str:
    u = p.usage
    text = f"■ run {p.run_id} {p.status.value} ({u.input_tokens} in / {u.output_tokens} out tokens"
    text += f", ${p.cost_usd:.4f})" if p.cost_usd else ")"
    return text + (f": {clip(p.error.message)}" if p.error is not None else "")


_RENDER: dict[type[Any], Callable[[Any], str]] = {
    UserMessageEvent: lambda p: f"user: {_message(p.message)}",
    AssistantMessageEvent: lambda p: (
        f"assistant{' (final)' if p.final else ''}: {_message(p.message)}"
    ),
    LLMRequestEvent: _llm_request,
    LLMResponseEvent: _llm_response,
    ToolCallEvent: lambda p: f"tool call {p.call.name} {_args(p.call.arguments)}",
    ToolResultEvent: _tool_result,
    PolicyDecisionEvent: lambda p: (
        f"policy {p.decision.verdict.value} {p.decision.tool}: {clip(p.decision.reason)}"
    ),
    ApprovalRequestedEvent: lambda p: (
        f"approval requested for {p.request.call.name}: {clip(p.request.reason)}"
    ),
    ApprovalResolvedEvent: lambda p: (
        f"approval {p.decision.verdict.value} ({p.decision.scope.value}) by {p.decision.decided_by}"
    ),
    GuardActionEvent: lambda p: f"guard {p.action} at {p.hook}: {clip(p.reason)}",
    RunStartedEvent: lambda p: (
        f"▶ run {p.run_id} started (agent {p.agent}{', ' + p.trigger if p.trigger else ''})"
    ),
    RunFinishedEvent: _run_finished,
    SummaryEvent: lambda p: f"summary of {p.first_seq}..{p.last_seq}: {clip(p.text)}",
    NoteEvent: lambda p: f"note ({p.level}): {clip(p.text)}",
    ErrorEvent: lambda p: f"error {p.error.type}: {clip(p.error.message)}",
    CustomEvent: lambda p: f"{p.name}: {_args(dict(p.data))}",
}


def event_line(event: SessionEvent) -> str:
    payload: EventPayload = event.payload
    render = _RENDER.get(type(payload))
    body = render(payload) if render is not None else payload.kind
    return f"[{event.seq}] {event.ts.astimezone().strftime('%H:%M:%S')} {body}"


def header(info: SessionInfo) -> str:
    title = f" · {info.title}" if info.title else ""
    return (
        f"session {info.id}{title} · agent {info.agent} · channel {info.channel} · "
        f"created {when(info.created_at)} · {info.event_count} events"
    )
