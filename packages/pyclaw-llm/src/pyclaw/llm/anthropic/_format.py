"""``LLMRequest`` → the JSON body of an Anthropic Messages API call (pure data, no SDK).

The Messages API differs from the normalized request in a few ways this module bridges:

- the system prompt is a top-level ``system`` field: ``request.system`` and the text of any
  ``system``-role messages are joined there, in order;
- turns alternate ``user``/``assistant``: consecutive messages of the same role are merged, tool
  results become ``tool_result`` blocks of a user turn (placed first in it, as the API requires);
- a tool call whose arguments never parsed (``raw_arguments``) is sent with input ``{}`` and a text
  note carrying the raw text, and tool calls and results whose partner is missing from the history
  (context trimming, a crash) are sent as text notes, so the history is always one the API accepts;
- ``max_tokens`` is required (``default_max_tokens`` fills it);
- structured output is emulated, see ``_output.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from pydantic import JsonValue

from pyclaw.llm.anthropic._names import api_tool_name
from pyclaw.llm.anthropic._output import OutputTool, output_tool_for
from pyclaw.meta import (
    ImagePart,
    LLMRequest,
    Message,
    ProviderError,
    TextPart,
    ToolCall,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

Block: TypeAlias = dict[str, JsonValue]
_NOTE_LIMIT = 2000


@dataclass(frozen=True)
class MessagesCall:
    """One Messages API call: the request body, and what reading the answer back needs."""

    body: dict[str, JsonValue]
    tool_names: dict[str, str] = field(default_factory=dict[str, str])
    """API tool name → PyClaw tool name, for the names the API's name rule forced us to change."""
    output: OutputTool | None = None
    """The forced tool that emulates ``response_format``, when there is one."""

    def tool_name(self, api_name: str) -> str:
        """The PyClaw name of the tool the API calls ``api_name``."""
        return self.tool_names.get(api_name, api_name)


def build_call(request: LLMRequest, *, model: str, default_max_tokens: int) -> MessagesCall:
    """The Messages API call for ``request``."""
    system = [request.system] if request.system else []
    system.extend(m.text for m in request.messages if m.role == "system" and m.text)
    body: dict[str, JsonValue] = {
        "model": model,
        "max_tokens": request.max_tokens or default_max_tokens,
        "messages": [],
    }
    tools: list[JsonValue] = []
    renamed: dict[str, str] = {}
    for spec in request.tools:
        api_name = api_tool_name(spec.name)
        if api_name != spec.name:
            renamed[api_name] = spec.name
        tools.append(
            {"name": api_name, "description": spec.description, "input_schema": spec.parameters}
        )
    output = output_tool_for(request.response_format, taken={t.name for t in request.tools})
    if output is not None:
        if output.tool is not None:
            tools.append(output.tool)
            body["tool_choice"] = {"type": "any"} if request.tools else output.tool_choice
        if output.instruction(has_tools=bool(request.tools)):
            system.append(output.instruction(has_tools=bool(request.tools)))
    body["messages"] = list(to_turns(request.messages))
    if system:
        body["system"] = "\n\n".join(system)
    if tools:
        body["tools"] = tools
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    return MessagesCall(body=body, tool_names=renamed, output=output)


def to_turns(messages: Iterable[Message]) -> list[JsonValue]:
    """Alternating ``user``/``assistant`` turns from the non-system messages."""
    turns: list[tuple[str, list[Block]]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message, role)
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    _pair_tool_blocks(turns)
    return [{"role": role, "content": _ordered(role, blocks)} for role, blocks in turns]


def _blocks(message: Message, role: str) -> list[Block]:
    blocks: list[Block] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            if part.text.strip():
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image(part, role))
        elif isinstance(part, ToolCallPart):
            blocks.extend(_tool_use(part.call))
        else:
            assert isinstance(part, ToolResultPart)
            blocks.append(_tool_result(part.result))
    return blocks


def _image(part: ImagePart, role: str) -> Block:
    if role == "assistant":  # the API takes images from the user side only
        return {"type": "text", "text": "[image omitted]"}
    if part.data_base64 is not None:
        source: Block = {"type": "base64", "media_type": part.media_type, "data": part.data_base64}
    elif part.url is not None:
        source = {"type": "url", "url": part.url}
    else:
        raise ProviderError(
            "an image given only as an artifact reference cannot be sent to Anthropic",
            hint="load the artifact and pass it as data_base64 (or a url)",
            provider="anthropic",
        )
    return {"type": "image", "source": source}


def _tool_use(call: ToolCall) -> list[Block]:
    block: Block = {"type": "tool_use", "id": call.id, "name": api_tool_name(call.name)}
    if call.raw_arguments is None:
        block["input"] = dict(call.arguments)
        return [block]
    block["input"] = {}
    note = (
        f"[the arguments of tool call {call.id} to {call.name} were not valid JSON and were "
        f"replaced by {{}}; they were: {call.raw_arguments[:_NOTE_LIMIT]}]"
    )
    return [{"type": "text", "text": note}, block]


def _tool_result(result: ToolResult) -> Block:
    text = result.content
    if not text and result.error is not None:
        text = result.error.message
    if not text and not result.ok:
        text = f"tool call {result.status}"
    block: Block = {"type": "tool_result", "tool_use_id": result.call_id}
    if text:
        block["content"] = text
    if not result.ok:
        block["is_error"] = True
    return block


def _pair_tool_blocks(turns: list[tuple[str, list[Block]]]) -> None:
    """Turn into text notes the ``tool_use`` blocks with no ``tool_result`` in the next turn and the
    ``tool_result`` blocks with no ``tool_use`` in the previous one (the API rejects both)."""
    for i, (role, blocks) in enumerate(turns):
        if role != "assistant":
            continue
        following = turns[i + 1][1] if i + 1 < len(turns) else []
        answered = _ids(following, "tool_result", "tool_use_id")
        for j, block in enumerate(blocks):
            if block["type"] == "tool_use" and block["id"] not in answered:
                blocks[j] = _note(
                    f"[call {block['id']} to tool {block['name']} with input "
                    f"{json.dumps(block['input'], ensure_ascii=False)[:_NOTE_LIMIT]} got no result]"
                )
    for i, (role, blocks) in enumerate(turns):
        if role != "user":
            continue
        previous = turns[i - 1][1] if i > 0 else []
        asked = _ids(previous, "tool_use", "id")
        for j, block in enumerate(blocks):
            if block["type"] == "tool_result" and block["tool_use_id"] not in asked:
                content = block.get("content", "")
                blocks[j] = _note(f"[result of tool call {block['tool_use_id']}]: {content}")


def _ids(blocks: list[Block], kind: str, key: str) -> set[str]:
    return {str(b[key]) for b in blocks if b["type"] == kind}


def _note(text: str) -> Block:
    return {"type": "text", "text": text}


def _ordered(role: str, blocks: list[Block]) -> list[JsonValue]:
    """A user turn's ``tool_result`` blocks first (the API requires it), others after, each group
    in its original order."""
    if role != "user":
        return list(blocks)
    results: list[JsonValue] = [b for b in blocks if b["type"] == "tool_result"]
    return results + [b for b in blocks if b["type"] != "tool_result"]
