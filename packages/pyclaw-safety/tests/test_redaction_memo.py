"""RedactionGuard remembers what it redacted: only new messages are scanned, and a new secret
makes it forget everything."""

from __future__ import annotations

import threading

import pytest

from pyclaw.meta import GuardVetoError, LLMRequest, Message, ToolResult, ToolSpec
from pyclaw.safety import RedactionGuard, SecretRedactor

SECRET = "tok-0123456789-abcdef"
MARK = "[REDACTED:api]"


class CountingRedactor(SecretRedactor):
    """A ``SecretRedactor`` that records every text it is asked to redact, and on which thread."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        super().__init__(secrets)
        self.seen: list[str] = []
        self.threads: set[int] = set()

    def redact(self, text: str) -> str:
        self.seen.append(text)
        self.threads.add(threading.get_ident())
        return super().redact(text)


class Unversioned:
    """A ``Redactor`` without a version counter (it could change without saying so)."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.calls = 0

    def redact(self, text: str) -> str:
        self.calls += 1
        return text if self.secret is None else text.replace(self.secret, MARK)


TOOLS = (ToolSpec(name="read_file", description="Read a file."),)
SYSTEM = "You are a careful agent."


def request(*messages: Message, system: str = SYSTEM) -> LLMRequest:
    return LLMRequest(model="m", messages=messages, system=system, tools=TOOLS)


async def test_a_clean_request_comes_back_as_the_same_object_and_is_scanned_once() -> None:
    redactor = CountingRedactor({"api": SECRET})
    guard = RedactionGuard(redactor)
    hello, answer = Message.user("hello"), Message.assistant("Hi, how can I help?")
    first = request(hello, answer)
    assert await guard.before_llm(first) is first
    assert "hello" in redactor.seen
    assert "Read a file." in redactor.seen
    assert SYSTEM in redactor.seen
    redactor.seen.clear()

    # The next step: a new request object, the same messages plus one new message.
    follow = Message.user("and the weather?")
    second = request(hello, answer, follow)
    assert await guard.before_llm(second) is second
    scanned = set(redactor.seen)
    assert "and the weather?" in scanned
    assert not scanned & {"hello", "Hi, how can I help?", "Read a file.", SYSTEM}


async def test_remembered_redactions_are_reused_exactly() -> None:
    redactor = CountingRedactor({"api": SECRET})
    guard = RedactionGuard(redactor)
    leaky = Message.user(f"my key is {SECRET}")
    first = await guard.before_llm(request(leaky))
    assert first.messages[0].text == f"my key is {MARK}"
    redactor.seen.clear()
    second = await guard.before_llm(request(leaky, Message.assistant("noted")))
    assert second.messages[0] is first.messages[0]  # the remembered redacted copy
    assert second.messages[1].text == "noted"
    assert not any(SECRET in text for text in redactor.seen)
    assert SECRET not in second.model_dump_json()


async def test_a_newly_registered_secret_is_never_missed() -> None:
    redactor = SecretRedactor()
    guard = RedactionGuard(redactor)
    message = Message.user("the deploy token is dpl-9f8e7d6c5b4a")
    sent = request(message, system="token dpl-9f8e7d6c5b4a")
    assert await guard.before_llm(sent) is sent  # nothing registered yet: nothing to redact
    version = redactor.version
    assert redactor.register("deploy", "dpl-9f8e7d6c5b4a")
    assert redactor.version > version
    again = await guard.before_llm(sent)  # the same objects, remembered as clean before
    assert again is not sent
    assert again.messages[0].text == "the deploy token is [REDACTED:deploy]"
    assert again.system == "token [REDACTED:deploy]"
    assert "dpl-9f8e7d6c5b4a" not in again.model_dump_json()


async def test_a_redactor_without_a_version_is_never_trusted_from_memory() -> None:
    redactor = Unversioned()
    guard = RedactionGuard(redactor)
    message = Message.user("key abcdef123456")
    sent = request(message)
    assert await guard.before_llm(sent) is sent
    redactor.secret = "abcdef123456"
    out = await guard.before_llm(sent)
    assert out.messages[0].text == f"key {MARK}"


async def test_the_same_message_twice_and_other_fields_are_redacted() -> None:
    guard = RedactionGuard(SecretRedactor({"api": SECRET}))
    leaky = Message.user(SECRET)
    sent = LLMRequest(model="m", messages=(leaky, leaky), metadata={"note": SECRET}, stop=(SECRET,))
    out = await guard.before_llm(sent)
    assert [m.text for m in out.messages] == [MARK, MARK]
    assert out.metadata == {"note": MARK}
    assert out.stop == (MARK,)
    clean = LLMRequest(model="m", messages=(leaky,), metadata={"note": SECRET})
    assert (await guard.before_llm(clean)).metadata == {"note": MARK}


async def test_a_secret_only_outside_the_messages_still_makes_a_new_request() -> None:
    guard = RedactionGuard(SecretRedactor({"api": SECRET}))
    hello = Message.user("hello")
    await guard.before_llm(request(hello))
    sent = LLMRequest(model="m", messages=(hello,), metadata={"k": SECRET})
    out = await guard.before_llm(sent)
    assert out is not sent
    assert out.metadata == {"k": MARK}
    assert out.messages[0] is hello


async def test_a_veto_still_names_the_request() -> None:
    guard = RedactionGuard(SecretRedactor({"x": "deploy_prod_key_123456"}))
    sent = LLMRequest(
        model="m",
        messages=(Message.user("hi"),),
        tools=(ToolSpec(name="deploy_prod_key_123456", description="d"),),
    )
    with pytest.raises(GuardVetoError, match="made the LLMRequest invalid"):
        await guard.before_llm(sent)


async def test_small_inputs_stay_on_the_loop_and_large_ones_go_to_a_thread() -> None:
    here = threading.get_ident()
    redactor = CountingRedactor({"api": SECRET})
    guard = RedactionGuard(redactor, inline_limit=1000)
    small = ToolResult(call_id="c", name="t", content="x" * 10)
    assert await guard.after_tool(small) is small
    await guard.before_llm(request(Message.user("short")))
    assert redactor.threads == {here}
    big = ToolResult(call_id="c", name="t", content=f"{SECRET} " + "y" * 5000)
    out = await guard.after_tool(big)
    assert out.content.startswith(MARK)
    await guard.before_llm(request(Message.user("z" * 5000)))
    assert len(redactor.threads) == 2


async def test_the_memo_is_bounded_and_stays_correct() -> None:
    redactor = CountingRedactor({"api": SECRET})
    guard = RedactionGuard(redactor, memo_size=8)
    messages = [Message.user(f"message {i} {SECRET if i % 3 == 0 else ''}") for i in range(40)]
    for message in messages:  # each used once: old ones age out
        out = await guard.before_llm(request(message))
        assert SECRET not in out.model_dump_json()
    redactor.seen.clear()
    await guard.before_llm(request(messages[-1]))
    assert not any(text.startswith("message ") for text in redactor.seen)  # still remembered
    out = await guard.before_llm(request(messages[0]))
    assert any(text.startswith("message 0") for text in redactor.seen)  # forgotten: scanned again
    assert out.messages[0].text == f"message 0 {MARK}"
