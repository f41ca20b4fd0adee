"""The normalized LLM request, response, usage and stream events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, JsonValue

from pyclaw.meta._base import SCHEMA_VERSION, Model
from pyclaw.meta._errors import ErrorInfo
from pyclaw.meta._messages import Message
from pyclaw.meta._tools import ToolCall, ToolSpec


class Usage(Model):
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


class StopReason(StrEnum):
    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"


class LLMRequest(Model):
    schema_version: int = SCHEMA_VERSION
    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    stop: tuple[str, ...] = ()
    response_format: dict[str, JsonValue] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class LLMResponse(Model):
    schema_version: int = SCHEMA_VERSION
    model: str
    provider: str
    message: Message
    stop_reason: StopReason = StopReason.END_TURN
    usage: Usage = Usage()
    cost_usd: float | None = None
    latency_ms: float | None = None
    response_id: str | None = None
    tool_call_errors: tuple[ErrorInfo, ...] = ()
    """Tool calls the model emitted that could not be parsed; shown back to the model, never raised."""


class TextDelta(Model):
    kind: Literal["text_delta"] = "text_delta"
    text: str


class ToolCallDelta(Model):
    kind: Literal["tool_call_delta"] = "tool_call_delta"
    index: int
    id: str | None = None
    name: str | None = None
    arguments_delta: str = ""


class ToolCallReady(Model):
    kind: Literal["tool_call_ready"] = "tool_call_ready"
    call: ToolCall


class ResponseDone(Model):
    kind: Literal["response_done"] = "response_done"
    response: LLMResponse


StreamEvent = Annotated[
    TextDelta | ToolCallDelta | ToolCallReady | ResponseDone, Field(discriminator="kind")
]
