"""The fast paths of a strict replay give the same answers as the slow ones: spliced request
JSON equals ``payload_json``, remembered prompt comparisons still see a changed message, and the
field-by-field event comparison ignores exactly the volatile fields."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.eval import Divergences, JsonCache, RecordedProvider, ScratchSessionLog, TurnFacts
from pyclaw.eval._facts import LLMExchange
from pyclaw.eval._render import same_payload
from pyclaw.meta import (
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    Message,
    NoteEvent,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    payload_json,
    sha256_hex,
)

SPECS = (ToolSpec(name="lookup", description='Look "it" up.'),)
texts = st.text(st.characters(codec="utf-8"), max_size=30)


def conversation(words: list[str]) -> list[Message]:
    """User messages, tool calls and tool results, with quotes and odd characters in them."""
    messages: list[Message] = []
    for i, word in enumerate(words):
        call = ToolCall(id=f"c{i}", name="lookup", arguments={"word": word, "n": i})
        messages.append(Message.user(f'"{word}" ?'))
        messages.append(Message.assistant(tool_calls=(call,)))
        result = ToolResult(call_id=call.id, name="lookup", content=f'{word}: "a word"')
        messages.append(Message.tool(result))
    return messages


def request_event(messages: list[Message], call_id: str = "llm_1") -> LLMRequestEvent:
    request = LLMRequest(
        model="m", system='be "brief"', messages=tuple(messages), tools=SPECS, metadata={"a": "1"}
    )
    return LLMRequestEvent(call_id=call_id, provider="p", request=request)


@settings(max_examples=30, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6))
def test_spliced_request_json_is_payload_json(words: list[str]) -> None:
    cache = JsonCache(size=8)  # small: entries age out between and within requests
    messages = conversation(words)
    for end in range(1, len(messages) + 1):
        event = request_event(messages[:end])
        assert cache.payload(event) == payload_json(event)
        assert cache.payload(event) == payload_json(event)  # and again, from the cache


def test_other_payloads_render_as_payload_json() -> None:
    cache = JsonCache()
    note = NoteEvent(text='a "note"')
    assert cache.payload(note) == payload_json(note)
    short = request_event(conversation(["one"]))  # too few items to splice
    assert cache.payload(short) == payload_json(short)


async def test_scratch_log_seals_with_the_digest_of_the_stored_json() -> None:
    log = ScratchSessionLog()
    await log.create_session(agent="a", channel="c", session_id="s")
    messages = conversation(["alpha", "beta", "gamma", "delta"])
    events = [
        await log.append("s", request_event(messages[:end], f"llm_{end}"))
        for end in range(len(messages))
    ]
    for event in events:
        assert event.payload_sha256 == sha256_hex(payload_json(event.payload))
        assert event.hash == event.expected_hash()
    assert (await log.verify("s")).ok


def provider_for(requests: list[LLMRequest]) -> tuple[RecordedProvider, Divergences]:
    answer = LLMResponse(message=Message.assistant("ok"), model="m", provider="p")
    facts = TurnFacts(llm=[LLMExchange("p", r, answer, None) for r in requests])
    divergences = Divergences()
    return RecordedProvider(facts, divergences), divergences


async def test_a_remembered_prompt_comparison_still_sees_a_changed_message() -> None:
    recorded = conversation(["one", "two", "three"])
    replayed = conversation(["one", "two", "three"])  # equal, but other objects
    requests = [request_event(recorded[:n]).request for n in (6, 8, 9, 9)]
    provider, divergences = provider_for(requests)
    await provider.complete(request_event(replayed[:6]).request)
    await provider.complete(request_event(replayed[:8]).request)
    assert divergences.items == []
    changed = [*replayed[:4], Message.user('"TWO" ?'), *replayed[5:9]]
    await provider.complete(request_event(changed).request)  # message 5 now differs
    assert len(divergences.items) == 1
    assert "model call 3: the prompt messages differ" in divergences.items[0]
    assert '+user: "TWO" ?' in divergences.items[0]
    await provider.complete(request_event(replayed[:8]).request)  # one message short
    assert len(divergences.items) == 2


async def test_models_equal_in_all_but_json_are_not_a_divergence() -> None:
    recorded = conversation(["one", "two", "three"])
    call = ToolCall(id="c9", name="lookup", arguments={"b": 1, "a": 2})
    swapped = ToolCall(id="c9", name="lookup", arguments={"a": 2, "b": 1})  # == but other JSON
    provider, divergences = provider_for(
        [request_event([*recorded, Message.assistant(tool_calls=(call,))]).request]
    )
    await provider.complete(
        request_event([*recorded, Message.assistant(tool_calls=(swapped,))]).request
    )
    assert divergences.items == []


def test_same_payload_ignores_only_the_volatile_fields() -> None:
    messages = conversation(["one", "two", "three"])
    a = request_event(messages, "llm_1")
    other_id = request_event(messages, "llm_2")
    other_system = a.model_copy(update={"request": a.request.model_copy(update={"system": "x"})})
    other_prompt = request_event(messages[:-1], "llm_1")
    other_temperature = a.model_copy(
        update={"request": a.request.model_copy(update={"temperature": 0.5})}
    )
    assert same_payload(a, other_id)
    assert same_payload(a, other_system)
    assert not same_payload(a, other_prompt)
    assert same_payload(a, other_prompt, prompts=False)
    assert not same_payload(a, other_temperature, prompts=False)
    result = ToolResult(call_id="c1", name="lookup", content="x", duration_ms=5)
    slower = ToolResultEvent(result=result.model_copy(update={"duration_ms": 9}))
    assert same_payload(ToolResultEvent(result=result), slower)
    other = ToolResultEvent(result=result.model_copy(update={"content": "y"}))
    assert not same_payload(ToolResultEvent(result=result), other)
    call = ToolCall(id="c1", name="lookup", arguments={})
    assert not same_payload(ToolResultEvent(result=result), ToolCallEvent(call=call))
    assert same_payload(NoteEvent(text="n"), NoteEvent(text="n"))
    assert not same_payload(NoteEvent(text="n"), NoteEvent(text="m"))
