"""Conversation messages made of typed parts (a discriminated union on ``kind``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pyclaw.meta._artifact import ArtifactRef
from pyclaw.meta._base import Model
from pyclaw.meta._tools import ToolCall, ToolResult


class TextPart(Model):
    kind: Literal["text"] = "text"
    text: str


class ImagePart(Model):
    """An image given inline (base64), by URL, or as a stored artifact."""

    kind: Literal["image"] = "image"
    media_type: str = "image/png"
    data_base64: str | None = None
    url: str | None = None
    artifact: ArtifactRef | None = None


class ToolCallPart(Model):
    kind: Literal["tool_call"] = "tool_call"
    call: ToolCall


class ToolResultPart(Model):
    kind: Literal["tool_result"] = "tool_result"
    result: ToolResult


Part = Annotated[TextPart | ImagePart | ToolCallPart | ToolResultPart, Field(discriminator="kind")]
Role = Literal["system", "user", "assistant", "tool"]


class Message(Model):
    role: Role
    parts: tuple[Part, ...] = ()
    name: str | None = None

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", parts=(TextPart(text=text),))

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", parts=(TextPart(text=text),))

    @classmethod
    def assistant(cls, text: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        parts: list[Part] = [TextPart(text=text)] if text else []
        parts.extend(ToolCallPart(call=c) for c in tool_calls)
        return cls(role="assistant", parts=tuple(parts))

    @classmethod
    def tool(cls, result: ToolResult) -> Message:
        return cls(role="tool", parts=(ToolResultPart(result=result),))

    @property
    def text(self) -> str:
        """All text parts joined (empty when there are none)."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(p.call for p in self.parts if isinstance(p, ToolCallPart))

    @property
    def tool_results(self) -> tuple[ToolResult, ...]:
        return tuple(p.result for p in self.parts if isinstance(p, ToolResultPart))
