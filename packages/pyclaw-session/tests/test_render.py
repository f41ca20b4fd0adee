"""``PayloadRenderer`` gives exactly ``payload_json``, re-rendering only what it has not seen."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

from pyclaw.meta import (
    LLMRequest,
    LLMRequestEvent,
    Message,
    SessionLog,
    ToolCall,
    ToolResult,
    ToolSpec,
    payload_json,
    sha256_hex,
)
from pyclaw.session import InMemorySessionLog, SQLiteSessionLog
from pyclaw.session._render import MIN_ITEMS, PayloadRenderer
from pyclaw.session.testing import sample_payloads
from pyclaw.storage import Database

TRICKY = '"messages":[],"tools":[]}\\"\n\u2028 ü 🎉'
"""Text that looks like the JSON the renderer splices at: it must stay inside its string."""


def conversation(n: int, tag: str = "") -> list[Message]:
    """``n`` messages of every role and part kind."""
    out: list[Message] = []
    for i in range(n):
        call = ToolCall(id=f"call_{tag}{i}", name="read_file", arguments={"path": f"{i}.md"})
        out.append(
            [
                Message.user(f"question {tag}{i} {TRICKY}"),
                Message.assistant(f"answer {i}", (call,)),
                Message.tool(ToolResult(call_id=call.id, name=call.name, content=f"line {i}")),
                Message.system(f"note {i}"),
            ][i % 4]
        )
    return out


def tools() -> tuple[ToolSpec, ...]:
    schema: dict[str, JsonValue] = {
        "type": "object",
        "properties": {"messages": {"type": "array", "default": []}, "tools": {"default": []}},
    }
    return (
        ToolSpec(name="read_file", description=f"reads {TRICKY}", parameters=schema),
        ToolSpec(name="write_file", description="writes"),
    )


def request_event(messages: list[Message], **fields: Any) -> LLMRequestEvent:
    request = LLMRequest(
        model=fields.pop("model", "gpt-test"),
        messages=tuple(messages),
        system=fields.pop("system", f"system {TRICKY}"),
        tools=fields.pop("tools", tools()),
        response_format={"messages": [], "tools": []},
        metadata={"messages": "[]"},
        **fields,
    )
    return LLMRequestEvent(call_id="llm_1", provider=fields.get("provider", "p"), request=request)


@pytest.fixture
def dumps(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The models rendered one by one (``model_dump_json`` calls on messages and tool specs)."""
    seen: list[object] = []
    for cls in (Message, ToolSpec):
        original = cls.model_dump_json

        def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> str:
            seen.append(self)
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "model_dump_json", counted)
    return seen


def test_every_sample_payload_renders_as_payload_json() -> None:
    renderer = PayloadRenderer()
    for payload in sample_payloads():
        assert renderer.render(payload) == payload_json(payload)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"model": '"messages":[]', "system": '"tools":[]'},
        {"system": None, "tools": ()},
        {"temperature": math.inf, "stop": ('"tools":[]',), "max_tokens": 5},
    ],
)
def test_a_long_request_renders_as_payload_json_cold_and_warm(fields: dict[str, Any]) -> None:
    renderer = PayloadRenderer()
    payload = request_event(conversation(40), **fields)
    expected = payload_json(payload)
    assert renderer.render(payload) == expected
    assert renderer.render(payload) == expected  # from the remembered messages


def test_the_next_step_renders_only_its_new_messages(dumps: list[object]) -> None:
    renderer = PayloadRenderer()
    history = conversation(30)
    first = request_event(history)
    renderer.render(first)
    assert len(dumps) == 30 + 2  # every message and tool spec once
    dumps.clear()
    new = conversation(2, tag="n")
    second = request_event([*history[5:], *new], tools=first.request.tools)
    text = renderer.render(second)
    assert dumps == new
    assert text == payload_json(second)


def test_short_requests_and_message_subclasses_are_rendered_whole(dumps: list[object]) -> None:
    class Tagged(Message):
        tag: str = "extra"

    renderer = PayloadRenderer()
    short = request_event(conversation(MIN_ITEMS - 3))
    assert renderer.render(short) == payload_json(short)
    assert len(renderer) == 0
    messages = [*conversation(20), Tagged(role="user")]
    mixed = request_event(messages)
    assert '"tag"' in messages[-1].model_dump_json()  # on its own a subclass renders its field
    assert renderer.render(mixed) == payload_json(mixed)
    assert len(renderer) == 0


def test_the_memory_is_bounded_and_forgets_the_least_used() -> None:
    renderer = PayloadRenderer(size=40)
    kept = conversation(10, tag="kept")
    for step in range(20):
        payload = request_event([*kept, *conversation(15, tag=f"s{step}")])
        assert renderer.render(payload) == payload_json(payload)
        assert len(renderer) <= 40 + len(kept) + 2
    renderer_chars = PayloadRenderer(max_chars=2_000)
    payload = request_event(conversation(30))
    assert renderer_chars.render(payload) == payload_json(payload)
    assert len(renderer_chars) < 30


def test_new_messages_never_get_an_old_messages_json() -> None:
    """Messages dropped by the caller may reuse ids only once the renderer forgot them."""
    renderer = PayloadRenderer(size=16)
    for step in range(50):
        payload = request_event(conversation(12, tag=f"t{step}"))
        assert renderer.render(payload) == payload_json(payload)
        del payload


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ['"messages":[]', '"tools":[]', "\\", '"', "]", "}"]
)
_json: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_message = st.one_of(
    st.builds(Message.user, _text),
    st.builds(Message.system, _text),
    st.builds(
        lambda text, args: Message.assistant(text, (ToolCall(name="t", arguments={"a": args}),)),
        _text,
        _json,
    ),
    st.builds(
        lambda content: Message.tool(ToolResult(call_id="c", name="t", content=content)), _text
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(_message, min_size=0, max_size=14),
    model=_text,
    system=st.none() | _text,
    keep=st.integers(min_value=0, max_value=14),
)
def test_any_request_renders_as_payload_json(
    messages: list[Message], model: str, system: str | None, keep: int
) -> None:
    renderer = PayloadRenderer()
    payload = request_event(messages, model=model, system=system)
    assert renderer.render(payload) == payload_json(payload)
    later = request_event([*messages[:keep], *messages], model=model, system=system)
    assert renderer.render(later) == payload_json(later)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_logs_store_exactly_payload_json_for_long_requests(
    backend: str, tmp_path: Path
) -> None:
    db = Database.open(tmp_path / "pyclaw.db")
    log: SessionLog = SQLiteSessionLog(db) if backend == "sqlite" else InMemorySessionLog()
    try:
        session = (await log.create_session(agent="main", channel="cli")).id
        history = conversation(25)
        for step in range(3):
            history.append(Message.user(f"step {step}"))
            payload = request_event(history)
            event = await log.append(session, payload)
            assert event.payload_sha256 == sha256_hex(payload_json(payload))
        read = await log.read(session)
        assert [e.payload for e in read][-1] == request_event(history)
        assert (await log.verify(session)).ok
    finally:
        db.close()
