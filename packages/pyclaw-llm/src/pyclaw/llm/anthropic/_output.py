"""Structured output on the Messages API, emulated with a forced tool.

``response_format`` follows the Chat Completions shape. ``{"type": "json_schema", "json_schema":
{"name", "schema", "description"?}}`` becomes one extra tool whose ``input_schema`` is the schema,
forced with ``tool_choice`` (``{"type": "tool"}``; ``{"type": "any"}`` when the request has tools of
its own, with a system line saying to answer through it). The API then returns the answer as that
tool's input, schema-shaped; the provider gives it back as the response's *text* (JSON), with stop
reason ``end_turn``, and never as a tool call. A schema that is not an object schema is wrapped as
the property ``value`` of one, and unwrapped on the way back. ``{"type": "json_object"}`` (no schema)
becomes a system instruction only. Other types (``text``) change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import JsonValue

from pyclaw.llm.anthropic._names import api_tool_name, unused_name

DEFAULT_NAME = "json_response"
JSON_OBJECT_INSTRUCTION = "Respond with a single JSON object and nothing else."


@dataclass(frozen=True)
class OutputTool:
    """How one request's ``response_format`` is emulated."""

    name: str
    tool: dict[str, JsonValue] | None = None
    """The forced tool; ``None`` for ``json_object`` (instruction only)."""
    wrapped: bool = False

    @property
    def tool_choice(self) -> dict[str, JsonValue]:
        return {"type": "tool", "name": self.name}

    def instruction(self, *, has_tools: bool) -> str:
        """The system line this emulation needs (empty when none)."""
        if self.tool is None:
            return JSON_OBJECT_INSTRUCTION
        if has_tools:
            return f"When you have the final answer, give it by calling the tool {self.name}."
        return ""

    def answer_text(self, tool_input: object) -> str:
        """The answer as JSON text, from the forced tool's input."""
        value = tool_input
        if self.wrapped and isinstance(value, dict) and "value" in value:
            value = value["value"]  # pyright: ignore[reportUnknownVariableType] - any JSON value
        return json.dumps(value, ensure_ascii=False)


def output_tool_for(fmt: dict[str, JsonValue] | None, *, taken: set[str]) -> OutputTool | None:
    """The emulation of ``fmt`` (``None`` when there is nothing to emulate); ``taken`` holds the
    request's own tool names, which the forced tool's name must avoid."""
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind == "json_object":
        return OutputTool(name="")
    if kind != "json_schema":
        return None
    spec = fmt.get("json_schema")
    spec = spec if isinstance(spec, dict) else fmt
    schema = spec.get("schema")
    schema = schema if isinstance(schema, dict) else {}
    raw_name = spec.get("name")
    name = api_tool_name(raw_name) if isinstance(raw_name, str) and raw_name else DEFAULT_NAME
    name = unused_name(name, {api_tool_name(t) for t in taken})
    wrapped = schema.get("type") != "object"
    input_schema: dict[str, JsonValue] = (
        {"type": "object", "properties": {"value": schema}, "required": ["value"]}
        if wrapped
        else schema
    )
    description = spec.get("description")
    if not isinstance(description, str) or not description:
        description = "Give the final answer, exactly in this schema."
    return OutputTool(
        name=name,
        tool={"name": name, "description": description, "input_schema": input_schema},
        wrapped=wrapped,
    )
