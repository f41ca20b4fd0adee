"""Readable, comparable forms of messages and events, and unified diffs between them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, JsonValue

from pyclaw.meta import EventPayload, Message, canonical_json

WIDTH = 160

_VOLATILE: Mapping[str, Mapping[str, frozenset[str]]] = {
    # kind -> {path prefix ("" = the payload itself) -> keys that change from run to run}
    "run_started": {"": frozenset({"run_id", "trigger"})},
    "run_finished": {"": frozenset({"run_id"})},
    "user_message": {"": frozenset({"control_event_id"})},
    "llm_request": {
        "": frozenset({"call_id"}),
        "request": frozenset({"system", "metadata", "model"}),
    },
    "llm_response": {"": frozenset({"call_id"})},
    "approval_requested": {
        "request": frozenset({"id", "run_id", "session_id", "created_at", "expires_at"})
    },
    "approval_resolved": {"decision": frozenset({"request_id", "decided_at"})},
    "policy_decision": {"decision": frozenset({"grant_id", "expires_at"})},
    "tool_result": {"result": frozenset({"duration_ms"})},
}

_VOLATILE_NO_PROMPTS: Mapping[str, frozenset[str]] = {
    "": frozenset({"call_id"}),
    "request": frozenset({"system", "metadata", "model", "messages", "tools"}),
}


def clip(text: str, width: int = WIDTH) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def message_lines(messages: Iterable[Message]) -> list[str]:
    """One line per message part: role, then text, tool call or tool result."""
    lines: list[str] = []
    for m in messages:
        if m.text:
            lines.append(f"{m.role}: {clip(m.text)}")
        for call in m.tool_calls:
            lines.append(f"{m.role}: call {call.name} {clip(canonical_json(call.arguments))}")
        for result in m.tool_results:
            lines.append(f"{m.role}: {result.name} [{result.status}] {clip(result.content)}")
        if not m.parts:
            lines.append(f"{m.role}: (empty)")
    return lines


def unified(
    before: Sequence[str], after: Sequence[str], *, a: str = "recorded", b: str = "replay"
) -> str:
    """A unified diff (``-`` recorded, ``+`` replayed), empty when the lines are equal."""
    return "\n".join(difflib.unified_diff(list(before), list(after), a, b, lineterm="", n=2))


def normalized(payload: EventPayload) -> dict[str, JsonValue]:
    """The payload as JSON data without what legitimately changes between runs (ids, times,
    the system prompt), so a deterministic replay of the same turn gives equal data."""
    data: dict[str, JsonValue] = payload.model_dump(mode="json")
    for path, keys in _VOLATILE.get(payload.kind, {}).items():
        target = data if not path else data.get(path)
        if isinstance(target, dict):
            for key in keys:
                target.pop(key, None)
    return data


def same_payload(a: EventPayload, b: EventPayload, *, prompts: bool = True) -> bool:
    """Whether two payloads are equal but for what changes between runs (ids, times, the system
    prompt): field by field, nothing copied. ``prompts=False`` leaves a request's messages and
    tools out too (when ``RecordedProvider`` already compared them, call by call)."""
    if type(a) is not type(b):
        return False
    volatile = _VOLATILE_NO_PROMPTS if not prompts and a.kind == "llm_request" else None
    volatile = volatile or _VOLATILE.get(a.kind)
    if not volatile:
        return a == b
    return _same_fields(a, b, volatile.get("", frozenset()), volatile)


def _same_fields(
    a: BaseModel,
    b: BaseModel,
    skip: frozenset[str],
    inner: Mapping[str, frozenset[str]] | None = None,
) -> bool:
    """``a == b`` (same type) leaving out the fields ``skip`` and, in each field named in
    ``inner``, that field's fields listed there."""
    other = b.__dict__
    for key, value in a.__dict__.items():
        if key in skip:
            continue
        theirs = other[key]
        nested = None if inner is None or not key else inner.get(key)
        if (
            nested is not None
            and isinstance(value, BaseModel)
            and type(value) is type(theirs)
            and isinstance(theirs, BaseModel)
        ):
            if not _same_fields(value, theirs, nested):
                return False
        elif value is not theirs and value != theirs:
            return False
    return a.__pydantic_extra__ == b.__pydantic_extra__


def event_line(payload: EventPayload) -> str:  # noqa: PLR0911 - one line per kind
    """A short description of an event for a diff."""
    p = payload
    match p.kind:
        case "user_message" | "assistant_message":
            calls = " ".join(f"+call {c.name}" for c in p.message.tool_calls)
            final = " (final)" if p.kind == "assistant_message" and p.final else ""
            return clip(f"{p.kind}{final}: {p.message.text} {calls}".rstrip())
        case "tool_call":
            return clip(f"tool_call {p.call.name} {canonical_json(p.call.arguments)}")
        case "tool_result":
            return clip(f"tool_result {p.result.name} [{p.result.status}] {p.result.content}")
        case "llm_request":
            return f"llm_request ({len(p.request.messages)} messages, {len(p.request.tools)} tools)"
        case "llm_response":
            what = "error" if p.response is None else clip(p.response.message.text, 80)
            return f"llm_response: {what}"
        case "policy_decision":
            return clip(
                f"policy_decision {p.decision.tool}: {p.decision.verdict.value} ({p.decision.reason})"
            )
        case "approval_requested":
            return clip(f"approval_requested {p.request.call.name}: {p.request.reason}")
        case "approval_resolved":
            return f"approval_resolved {p.decision.verdict.value} by {p.decision.decided_by}"
        case "run_finished":
            return f"run_finished {p.status.value}"
        case "note" | "summary":
            return clip(f"{p.kind}: {p.text}")
        case "error":
            return clip(f"error {p.error.type}: {p.error.message}")
        case _:
            return p.kind


def first_difference(a: JsonValue, b: JsonValue, path: str = "") -> str | None:  # noqa: PLR0911 - one return per shape
    """Where two JSON values first differ, with both sides (clipped); ``None`` when equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in the {'replay' if key in b else 'recording'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        if len(a) != len(b):
            return f"{path}: {len(a)} items recorded, {len(b)} replayed"
        return None
    if a == b:
        return None
    return f"{path or '.'}: recorded {clip(canonical_json(a), 70)}, replayed {clip(canonical_json(b), 70)}"
