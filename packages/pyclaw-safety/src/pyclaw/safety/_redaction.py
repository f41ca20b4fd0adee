"""Redaction applied to whole models, to log events and to outbound text, and ``RedactionGuard``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, MutableMapping
from typing import TypeVar, cast

from pyclaw.meta import (
    GuardVetoError,
    LLMRequest,
    LLMResponse,
    Model,
    Redactor,
    ToolCall,
    ToolResult,
)

M = TypeVar("M", bound=Model)

_Redact = Callable[[str], str]


def _walk(value: object, redact: _Redact) -> tuple[object, bool]:
    """``value`` (JSON-like data) with every string, dict key included, redacted; and whether
    anything changed. Unchanged containers are returned as the same objects."""
    if isinstance(value, str):
        out = redact(value)
        return out, out != value
    if isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value)
        changed = False
        new: dict[object, object] = {}
        for key, item in items.items():
            new_key, key_changed = _walk(key, redact) if isinstance(key, str) else (key, False)
            new_item, item_changed = _walk(item, redact)
            new[new_key] = new_item
            changed = changed or key_changed or item_changed
        return (new, True) if changed else (items, False)
    if isinstance(value, list | tuple | set | frozenset):
        seq = cast("list[object] | tuple[object, ...] | set[object] | frozenset[object]", value)
        pairs = [_walk(item, redact) for item in seq]
        if not any(changed for _, changed in pairs):
            return seq, False
        items_out = [item for item, _ in pairs]
        rebuilt = items_out if isinstance(seq, list) else type(seq)(items_out)
        return rebuilt, True
    return value, False


def redact_model(model: M, redactor: Redactor) -> M:
    """``model`` with every string in it redacted, validated back into the same type.

    Returns the very same object when nothing matched, so a caller can tell a transform by
    identity. Raises ``GuardVetoError`` when the redacted data no longer validates (a redacted
    field with a strict pattern): sending the unredacted model is never the fallback.
    """
    data = model.model_dump(mode="json")
    new, changed = _walk(data, redactor.redact)
    if not changed:
        return model
    try:
        return type(model).model_validate(new)
    except ValueError as exc:  # pydantic's ValidationError
        raise GuardVetoError(
            f"redacting secrets made the {type(model).__name__} invalid; it was not sent"
        ) from exc


def redact_outbound(text: str, redactor: Redactor) -> str:
    """``text`` with secrets removed, for a channel to call right before it sends a message."""
    return redactor.redact(text)


EventDict = MutableMapping[str, object]
StructlogProcessor = Callable[[object, str, EventDict], EventDict]


def redact_structlog(redactor: Redactor) -> StructlogProcessor:
    """A structlog processor that redacts every string in the event dict (keys, values, and
    strings nested in dicts, lists, tuples and sets).

    A plain callable, so pyclaw-safety does not depend on structlog. Install it after the
    processors that turn objects into text (``format_exc_info``, ``StackInfoRenderer``,
    ``TimeStamper``) and right before the renderer: other objects are passed on untouched.
    """

    def processor(logger: object, method_name: str, event_dict: EventDict) -> EventDict:
        del logger, method_name
        new, changed = _walk(event_dict, redactor.redact)
        if not changed:
            return event_dict
        return cast("EventDict", new)

    return processor


class RedactionGuard:
    """A ``Guard`` that removes secrets from what goes to the model and what comes back.

    ``before_llm`` redacts the request (messages, system prompt, tool specs) before it leaves for
    a possibly remote provider; ``after_llm`` redacts the response and ``after_tool`` the tool
    result, so a tool echoing an API key never reaches the model, the session log or a channel. A
    hook returns the same object when nothing matched and a new one otherwise, which the brain
    records as a transform. ``before_tool`` passes calls through: rewriting arguments would run a
    different call than the one policy approved. Redaction runs in a worker thread.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        return await asyncio.to_thread(redact_model, request, self._redactor)

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        return await asyncio.to_thread(redact_model, response, self._redactor)

    async def before_tool(self, call: ToolCall) -> ToolCall:
        return call

    async def after_tool(self, result: ToolResult) -> ToolResult:
        return await asyncio.to_thread(redact_model, result, self._redactor)
