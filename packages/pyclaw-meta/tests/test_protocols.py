"""The no-op implementations shipped beside their contracts satisfy them."""

from __future__ import annotations

from pyclaw.meta import (
    Guard,
    LLMRequest,
    LLMResponse,
    Message,
    NoOpGuard,
    NullRedactor,
    Redactor,
    ToolCall,
    ToolResult,
)


def test_noop_guard_is_a_guard() -> None:
    guard: Guard = NoOpGuard()  # also checked statically
    assert isinstance(guard, Guard)


def test_null_redactor_is_a_redactor() -> None:
    redactor: Redactor = NullRedactor()
    assert isinstance(redactor, Redactor)


def test_runtime_check_rejects_what_lacks_the_methods() -> None:
    assert not isinstance(object(), Guard)
    assert not isinstance(NullRedactor(), Guard)
    assert not isinstance(object(), Redactor)


async def test_noop_guard_passes_everything_through_unchanged() -> None:
    guard = NoOpGuard()
    request = LLMRequest(model="m", messages=(Message.user("hi"),))
    response = LLMResponse(model="m", provider="p", message=Message.assistant("yo"))
    call = ToolCall(name="t", arguments={"a": 1})
    result = ToolResult(call_id=call.id, name="t", content="ok")
    assert await guard.before_llm(request) is request
    assert await guard.after_llm(response) is response
    assert await guard.before_tool(call) is call
    assert await guard.after_tool(result) is result


def test_null_redactor_changes_nothing() -> None:
    text = 'sk-proj-abc123 {"password": "hunter2"}'
    assert NullRedactor().redact(text) == text
