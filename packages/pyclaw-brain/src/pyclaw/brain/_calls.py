"""The model's tool calls as the brain sees them, and the results it makes up without running one."""

from __future__ import annotations

from pyclaw.meta import (
    ErrorInfo,
    LLMResponse,
    Message,
    ToolCall,
    ToolCallPart,
    ToolResult,
    ToolStatus,
    new_id,
)


def reconcile(response: LLMResponse) -> tuple[Message, dict[str, ErrorInfo]]:
    """The assistant message to record and the argument errors of its calls, by call id.

    Providers report a call whose arguments were not valid JSON as a ``ToolCall`` with
    ``raw_arguments`` plus an entry in ``tool_call_errors`` naming its ``call_id``. An error that
    names no call of the message gets a call made up for it, so the model sees an answer to it.
    """
    message = response.message
    ids = {call.id for call in message.tool_calls}
    errors: dict[str, ErrorInfo] = {}
    extra: list[ToolCall] = []
    for error in response.tool_call_errors:
        call_id = error.details.get("call_id")
        if isinstance(call_id, str) and call_id in ids:
            errors[call_id] = error
            continue
        tool = error.details.get("tool")
        raw = error.details.get("raw")
        call = ToolCall(
            id=call_id if isinstance(call_id, str) else new_id("call"),
            name=tool if isinstance(tool, str) else "unknown_tool",
            raw_arguments=raw if isinstance(raw, str) else "",
        )
        ids.add(call.id)
        extra.append(call)
        errors[call.id] = error
    for call in message.tool_calls:
        if call.raw_arguments is not None and call.id not in errors:
            errors[call.id] = ErrorInfo(
                type="MalformedToolArguments",
                message="tool arguments are not a valid JSON object; send a single JSON object",
                details={"raw": call.raw_arguments[:2000]},
            )
    if extra:
        parts = message.parts + tuple(ToolCallPart(call=call) for call in extra)
        message = message.model_copy(update={"parts": parts})
    return message, errors


def refused(
    call: ToolCall, reason: str, *, status: ToolStatus = "denied", error_type: str = "PolicyDenied"
) -> ToolResult:
    """The result of a call that was not run (denied, unknown tool, bad arguments)."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        status=status,
        content=f"Not run: {reason}",
        error=ErrorInfo(type=error_type, message=reason),
    )


def bad_arguments(call: ToolCall, error: ErrorInfo) -> ToolResult:
    """An error result explaining the argument problem so the model can call again correctly."""
    text = (
        f"Not run: the arguments for {call.name!r} could not be used: {error.message}. "
        "Call the tool again with its arguments as one JSON object."
    )
    return ToolResult(call_id=call.id, name=call.name, status="error", content=text, error=error)


def unknown_tool(call: ToolCall, available: list[str]) -> ToolResult:
    names = ", ".join(sorted(available)) or "none"
    return refused(
        call,
        f"there is no tool named {call.name!r} for this agent (available: {names})",
        status="error",
        error_type="UnknownTool",
    )


def unfinished(call: ToolCall, status: ToolStatus, reason: str) -> ToolResult:
    """The terminal result recorded for a call that started (or was due) but never finished."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        status=status,
        content=f"The call did not complete: {reason}.",
        error=ErrorInfo(type="RunStopped", message=reason),
    )
