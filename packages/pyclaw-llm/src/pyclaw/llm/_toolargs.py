"""Turning a model's tool-call argument text into arguments, or into a structured error.

Models emit malformed JSON now and then (truncated output, single quotes, a bare string). That must
never crash the brain: the call is kept with its raw text and an ``ErrorInfo`` the brain can show
back to the model so it can try again.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from pyclaw.meta import ErrorInfo, ToolCall


def parse_tool_arguments(raw: str | None) -> tuple[dict[str, JsonValue], ErrorInfo | None]:
    """``(arguments, None)`` for a JSON object (an empty text counts as ``{}``), else
    ``({}, error)`` with a message that says what was wrong."""
    text = (raw or "").strip()
    if not text:
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, ErrorInfo(
            type="MalformedToolArguments",
            message=f"tool arguments are not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); send a single JSON object",
            details={"raw": text[:2000]},
        )
    if not isinstance(value, dict):
        return {}, ErrorInfo(
            type="MalformedToolArguments",
            message=f"tool arguments must be a JSON object, got {type(value).__name__}",
            details={"raw": text[:2000]},
        )
    return value, None  # pyright: ignore[reportUnknownVariableType] - json.loads gives JSON values


def tool_call_from_text(
    call_id: str, name: str, raw: str | None
) -> tuple[ToolCall, ErrorInfo | None]:
    """A ``ToolCall`` from a model's id, name and argument text; ``raw_arguments`` is kept when the
    text could not be parsed, with the error (naming the call) returned beside it."""
    arguments, error = parse_tool_arguments(raw)
    if error is None:
        return ToolCall(id=call_id, name=name, arguments=arguments), None
    details: dict[str, JsonValue] = {**error.details, "call_id": call_id, "tool": name}
    return (
        ToolCall(id=call_id, name=name, arguments={}, raw_arguments=raw),
        error.model_copy(update={"details": details}),
    )
