"""RedactionGuard and redact_model: secrets in every encoding leave no model."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from pyclaw.meta import (
    Guard,
    GuardVetoError,
    ImagePart,
    LLMRequest,
    LLMResponse,
    Message,
    NullRedactor,
    OutboundMessage,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from pyclaw.safety import RedactionGuard, SecretRedactor, redact_model, secret_forms

SECRET = "s3cr3t-Value/with+chars ü"
MARK = "[REDACTED:api]"
OPENAI = "sk-proj-" + "Ab1_Cd2-Ef3" * 6

ENCODED = {
    "raw": SECRET,
    "url": quote(SECRET, safe=""),
    "url-plus": quote_plus(SECRET),
    "json": json.dumps(SECRET)[1:-1],
    "json-slash": json.dumps(SECRET)[1:-1].replace("/", "\\/"),
    "base64": base64.b64encode(SECRET.encode()).decode(),
    "base64-urlsafe-unpadded": base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    "basic-auth": base64.b64encode(b"user:" + SECRET.encode()).decode(),
}


@pytest.fixture
def redactor() -> SecretRedactor:
    return SecretRedactor({"api": SECRET})


def leaks(text: str) -> list[str]:
    """Every form of the secret still present in ``text``."""
    return sorted(f for f in secret_forms(SECRET) if f in text)


def test_is_a_guard(redactor: SecretRedactor) -> None:
    assert isinstance(RedactionGuard(redactor), Guard)
    assert RedactionGuard(redactor).redactor is redactor


@pytest.mark.parametrize("encoding", sorted(ENCODED))
async def test_request_is_redacted_everywhere(redactor: SecretRedactor, encoding: str) -> None:
    form = ENCODED[encoding]
    call = ToolCall(
        name="http_fetch",
        arguments={"url": f"https://x.example/?k={form}", "headers": {"X-Key": form}},
        raw_arguments=json.dumps({"k": form}),
    )
    request = LLMRequest(
        model="m",
        system=f"key: {form}",
        messages=(
            Message.user(f"my key is {form}"),
            Message.assistant("calling", tool_calls=(call,)),
            Message.tool(ToolResult(call_id=call.id, name="http_fetch", content=f"echo {form}")),
            Message(role="user", parts=(TextPart(text="a"), TextPart(text=f"b {form} {OPENAI}"))),
        ),
        metadata={"note": form},
    )
    assert leaks(request.model_dump_json())
    out = await RedactionGuard(redactor).before_llm(request)
    assert isinstance(out, LLMRequest)
    assert leaks(out.model_dump_json()) == []
    assert OPENAI not in out.model_dump_json()
    gone = redactor.redact(form)  # MARK, or "dXNlcjp" + MARK + "A==" inside a Basic-auth blob
    assert MARK in gone
    assert out.system == f"key: {gone}"
    assert out.messages[0].text == f"my key is {gone}"
    assert out.messages[1].tool_calls[0].id == call.id
    assert out.messages[2].tool_results[0].content == f"echo {gone}"
    assert out.messages[3].parts[1] == TextPart(text=f"b {gone} [REDACTED:openai_key]")


async def test_nothing_to_redact_returns_the_same_object(redactor: SecretRedactor) -> None:
    guard = RedactionGuard(redactor)
    request = LLMRequest(
        model="m",
        messages=(Message.user("hello"), Message(role="user", parts=(ImagePart(url="x"),))),
        tools=(ToolSpec(name="t", description="d"),),
    )
    assert await guard.before_llm(request) is request
    response = LLMResponse(model="m", provider="p", message=Message.assistant("fine"))
    assert await guard.after_llm(response) is response
    result = ToolResult(call_id="c", name="t", content="nothing here")
    assert await guard.after_tool(result) is result


async def test_tool_result_echoing_a_key_is_redacted(redactor: SecretRedactor) -> None:
    result = ToolResult(
        call_id="c",
        name="exec",
        content=f"env:\nAPI_KEY={SECRET}\nAUTH={ENCODED['basic-auth']}\n",
        untrusted=True,
        duration_ms=3.5,
    )
    out = await RedactionGuard(redactor).after_tool(result)
    assert out.content == f"env:\nAPI_KEY={MARK}\nAUTH=dXNlcjp{MARK}A==\n"
    assert (out.untrusted, out.duration_ms, out.call_id) == (True, 3.5, "c")


async def test_response_is_redacted(redactor: SecretRedactor) -> None:
    response = LLMResponse(
        model="m",
        provider="p",
        message=Message.assistant(
            f"here: {SECRET}", tool_calls=(ToolCall(name="t", arguments={"k": SECRET}),)
        ),
    )
    out = await RedactionGuard(redactor).after_llm(response)
    assert out.message.text == f"here: {MARK}"
    assert out.message.tool_calls[0].arguments == {"k": MARK}


async def test_tool_calls_pass_through_before_the_tool(redactor: SecretRedactor) -> None:
    call = ToolCall(name="t", arguments={"k": SECRET})
    assert await RedactionGuard(redactor).before_tool(call) is call


def test_redact_model_works_on_any_model_and_keys(redactor: SecretRedactor) -> None:
    message = OutboundMessage(
        channel="telegram", chat_id="1", text=f"token {SECRET}", data={SECRET: [SECRET, 1, None]}
    )
    out = redact_model(message, redactor)
    assert out.text == f"token {MARK}"
    assert out.data == {MARK: [MARK, 1, None]}
    assert out.idempotency_key == message.idempotency_key
    assert redact_model(message, NullRedactor()) is message


def test_redaction_that_breaks_validation_vetoes() -> None:
    """A tool name is pattern-checked: redacting it must not send the secret as a fallback."""
    redactor = SecretRedactor({"x": "deploy_prod_key_123456"})
    request = LLMRequest(
        model="m",
        messages=(Message.user("hi"),),
        tools=(ToolSpec(name="deploy_prod_key_123456", description="d"),),
    )
    with pytest.raises(GuardVetoError, match="made the LLMRequest invalid"):
        redact_model(request, redactor)
