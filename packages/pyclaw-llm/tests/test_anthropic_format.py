"""The Anthropic request mapping (pure functions): system extraction, role merging, tool blocks."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip(
    "anthropic", reason="the [anthropic] extra is not installed (the per-package isolation run)"
)

import itertools

from pyclaw.llm.anthropic import build_call
from pyclaw.meta import (
    ArtifactRef,
    ErrorInfo,
    ImagePart,
    LLMRequest,
    Message,
    ProviderError,
    TextPart,
    ToolCall,
    ToolResult,
    ToolSpec,
)


def body(*messages: Message, **fields: Any) -> dict[str, Any]:
    request = LLMRequest(model="claude-test", messages=messages, **fields)
    return cast(
        "dict[str, Any]", build_call(request, model="claude-test", default_max_tokens=99).body
    )


def call(name: str = "weather", call_id: str = "toolu_1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def result(call_id: str = "toolu_1", content: str = "sunny", **fields: Any) -> Message:
    return Message.tool(ToolResult(call_id=call_id, name="weather", content=content, **fields))


def test_minimal_request_has_required_fields_only() -> None:
    assert body(Message.user("hi")) == {
        "model": "claude-test",
        "max_tokens": 99,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_sampling_fields_are_passed() -> None:
    got = body(Message.user("hi"), max_tokens=7, temperature=0.2, stop=("END", "STOP"))
    assert (got["max_tokens"], got["temperature"], got["stop_sequences"]) == (
        7,
        0.2,
        ["END", "STOP"],
    )


def test_system_prompt_and_system_messages_go_top_level_in_order() -> None:
    got = body(
        Message.system("be brief"),
        Message.user("hi"),
        Message.system("answer in French"),
        system="you are PyClaw",
    )
    assert got["system"] == "you are PyClaw\n\nbe brief\n\nanswer in French"
    assert [t["role"] for t in got["messages"]] == ["user"]


def test_consecutive_same_role_messages_are_merged() -> None:
    got = body(
        Message.user("one"),
        Message.user("two"),
        Message.assistant("three"),
        Message.assistant("four"),
        Message.user("five"),
    )
    turns = [(t["role"], [b["text"] for b in t["content"]]) for t in got["messages"]]
    assert turns == [("user", ["one", "two"]), ("assistant", ["three", "four"]), ("user", ["five"])]


def test_empty_and_blank_text_is_dropped_without_breaking_alternation() -> None:
    got = body(Message.user("a"), Message.assistant(""), Message.user("  "), Message.user("b"))
    assert got["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks() -> None:
    got = body(
        Message.user("weather in Oslo and Rome?"),
        Message.assistant(
            "Checking.",
            (call(call_id="toolu_1", city="Oslo"), call(call_id="toolu_2", city="Rome")),
        ),
        result("toolu_1", "sunny"),
        result("toolu_2", "rain"),
        Message.user("thanks"),
    )
    assistant, user = got["messages"][1], got["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
        ],
    }
    assert user == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rain"},
            {"type": "text", "text": "thanks"},
        ],
    }


def test_tool_results_are_placed_before_text_in_a_merged_user_turn() -> None:
    got = body(
        Message.user("go"),
        Message.assistant(tool_calls=(call(),)),
        Message.user("(the user typed while the tool ran)"),
        result(),
    )
    kinds = [b["type"] for b in got["messages"][2]["content"]]
    assert kinds == ["tool_result", "text"]


def test_failed_tool_results_are_marked_is_error_with_a_message() -> None:
    got = body(
        Message.user("go"),
        Message.assistant(tool_calls=(call("a", "t1"), call("b", "t2"), call("c", "t3"))),
        result("t1", "", status="error", error=ErrorInfo(type="ToolError", message="no such city")),
        result("t2", "", status="denied"),
        result("t3", "partial output", status="timeout"),
    )
    assert got["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "no such city", "is_error": True},
        {
            "type": "tool_result",
            "tool_use_id": "t2",
            "content": "tool call denied",
            "is_error": True,
        },
        {"type": "tool_result", "tool_use_id": "t3", "content": "partial output", "is_error": True},
    ]


def test_a_call_whose_arguments_never_parsed_is_sent_as_empty_input_with_a_note() -> None:
    broken = ToolCall(id="toolu_9", name="weather", raw_arguments='{"city": "Os')
    got = body(
        Message.user("go"),
        Message.assistant(tool_calls=(broken,)),
        result("toolu_9", "arguments were not valid JSON", status="error"),
    )
    note, tool_use = got["messages"][1]["content"]
    assert tool_use == {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {}}
    assert note["type"] == "text"
    assert '{"city": "Os' in note["text"]
    assert "toolu_9" in note["text"]


def test_unpaired_tool_blocks_become_text_notes() -> None:
    got = body(
        result("toolu_gone", "old result"),  # its call was trimmed from the history
        Message.user("and now?"),
        Message.assistant(tool_calls=(call(call_id="toolu_open", city="Oslo"),)),  # never answered
    )
    first, last = got["messages"][0]["content"], got["messages"][1]["content"]
    assert [b["type"] for b in first] == ["text", "text"]
    assert first[0]["text"] == "[result of tool call toolu_gone]: old result"
    assert last[0]["type"] == "text"
    assert "toolu_open" in last[0]["text"]
    assert '{"city": "Oslo"}' in last[0]["text"]


def test_images_are_sent_as_base64_or_url_blocks() -> None:
    message = Message(
        role="user",
        parts=(
            TextPart(text="what is this?"),
            ImagePart(media_type="image/jpeg", data_base64="AAAA"),
            ImagePart(url="https://example.org/cat.png"),
        ),
    )
    assert body(message)["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.org/cat.png"}},
    ]


def test_an_image_known_only_as_an_artifact_is_refused_clearly() -> None:
    ref = ArtifactRef(sha256="0" * 64, size=3, media_type="image/png")
    message = Message(role="user", parts=(ImagePart(artifact=ref),))
    with pytest.raises(ProviderError, match="artifact reference") as info:
        body(message)
    assert info.value.retryable is False


def test_tools_are_sent_with_input_schema_and_api_safe_names() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = (
        ToolSpec(name="weather", description="Weather now.", parameters=schema),
        ToolSpec(name="mcp.search", description="Search."),
    )
    request = LLMRequest(
        model="m",
        messages=(
            Message.user("hi"),
            Message.assistant(tool_calls=(call("mcp.search"),)),
            result(),
        ),
        tools=tools,
    )
    made = build_call(request, model="m", default_max_tokens=10)
    got = cast("dict[str, Any]", made.body)
    assert got["tools"] == [
        {"name": "weather", "description": "Weather now.", "input_schema": schema},
        {
            "name": "mcp_search",
            "description": "Search.",
            "input_schema": {"type": "object", "properties": {}},
        },
    ]
    assert got["messages"][1]["content"][0]["name"] == "mcp_search"
    assert made.tool_name("mcp_search") == "mcp.search"
    assert made.tool_name("weather") == "weather"
    assert "tool_choice" not in got


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def test_json_schema_output_is_a_forced_tool() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "place", "schema": SCHEMA},
    }
    made = build_call(
        LLMRequest(model="m", messages=(Message.user("hi"),), response_format=fmt),
        model="m",
        default_max_tokens=10,
    )
    got = cast("dict[str, Any]", made.body)
    [tool] = got["tools"]
    assert (tool["name"], tool["input_schema"]) == ("place", SCHEMA)
    assert tool["description"]
    assert got["tool_choice"] == {"type": "tool", "name": "place"}
    assert "system" not in got


def test_json_schema_output_next_to_real_tools_uses_tool_choice_any_and_avoids_clashes() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "weather", "schema": SCHEMA},
    }
    got = body(
        Message.user("hi"),
        tools=(ToolSpec(name="weather", description="w"),),
        response_format=fmt,
    )
    assert [t["name"] for t in got["tools"]] == ["weather", "weather_2"]
    assert got["tool_choice"] == {"type": "any"}
    assert "weather_2" in got["system"]


def test_a_non_object_schema_is_wrapped_in_value() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "names", "schema": {"type": "array", "items": {"type": "string"}}},
    }
    tool = body(Message.user("hi"), response_format=fmt)["tools"][0]
    assert tool["input_schema"] == {
        "type": "object",
        "properties": {"value": {"type": "array", "items": {"type": "string"}}},
        "required": ["value"],
    }


def test_json_object_output_is_a_system_instruction() -> None:
    got = body(Message.user("hi"), system="base", response_format={"type": "json_object"})
    assert got["system"] == "base\n\nRespond with a single JSON object and nothing else."
    assert "tools" not in got
    assert "tool_choice" not in got


# Any history, however trimmed or odd, maps to turns the API accepts.

_ids = st.sampled_from(["t1", "t2", "t3"])
_messages = st.one_of(
    st.builds(Message.user, st.sampled_from(["hi", "", "more"])),
    st.builds(Message.system, st.just("sys")),
    st.builds(
        lambda text, ids: Message.assistant(
            text, tuple(call(call_id=i) for i in dict.fromkeys(ids))
        ),
        st.sampled_from(["", "ok"]),
        st.lists(_ids, max_size=3),
    ),
    st.builds(lambda i, ok: result(i, "r", status="ok" if ok else "error"), _ids, st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_messages, min_size=1, max_size=10))
def test_any_history_gives_alternating_turns_with_paired_tool_blocks(
    messages: list[Message],
) -> None:
    turns = body(*messages)["messages"]
    roles = [t["role"] for t in turns]
    assert all(a != b for a, b in itertools.pairwise(roles))
    for i, turn in enumerate(turns):
        content = turn["content"]
        assert content, "no empty turns"
        kinds = [b["type"] for b in content]
        if turn["role"] == "user":
            assert kinds == sorted(kinds, key=lambda k: k != "tool_result"), "results first"
            asked = {
                b["id"] for b in (turns[i - 1]["content"] if i else []) if b["type"] == "tool_use"
            }
            assert {b["tool_use_id"] for b in content if b["type"] == "tool_result"} <= asked
        else:
            following = turns[i + 1]["content"] if i + 1 < len(turns) else []
            answered = {b["tool_use_id"] for b in following if b["type"] == "tool_result"}
            assert {b["id"] for b in content if b["type"] == "tool_use"} <= answered
    json.dumps(turns)  # plain JSON all the way down
