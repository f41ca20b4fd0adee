"""Reading the SDK's answers: a whole ``Message``, or raw stream events turned into ``StreamEvent``s."""

from __future__ import annotations

import json

from anthropic.types import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
    TextBlock,
    ToolUseBlock,
)
from anthropic.types import Message as ApiMessage
from anthropic.types import TextDelta as ApiTextDelta

from pyclaw.llm.anthropic._answer import AnswerBuilder, usage_of
from pyclaw.meta import StreamEvent, TextDelta, ToolCallDelta, ToolCallReady


def read_message(message: ApiMessage, answer: AnswerBuilder) -> None:
    """Collect a non-streamed ``Message`` into ``answer``."""
    for index, block in enumerate(message.content):
        if isinstance(block, TextBlock):
            answer.add_text(block.text)
        elif isinstance(block, ToolUseBlock):
            answer.add_tool_input(index, block.id, block.name, block.input)
    answer.response_id = message.id
    answer.model = message.model or answer.model
    answer.stop_reason = message.stop_reason
    u = message.usage
    answer.usage = usage_of(
        u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens
    )


class _ToolBlock:
    """A ``tool_use`` block being streamed."""

    __slots__ = ("id", "index", "name", "pieces", "start_input")

    def __init__(self, block: ToolUseBlock, index: int) -> None:
        self.id = block.id
        self.name = block.name
        self.index = index
        self.start_input: object = block.input
        self.pieces: list[str] = []

    def raw(self) -> str:
        if self.pieces:
            return "".join(self.pieces)
        return json.dumps(self.start_input) if self.start_input else ""


class StreamReader:
    """Turns the SDK's raw stream events into PyClaw ``StreamEvent``s while ``answer`` collects the
    final response. ``done`` turns true at ``message_stop``."""

    def __init__(self, answer: AnswerBuilder) -> None:
        self._answer = answer
        self._tools: dict[int, _ToolBlock] = {}
        self._tool_count = 0
        self._input: tuple[int | None, int | None, int | None] = (None, None, None)
        self.done = False

    def feed(self, event: RawMessageStreamEvent) -> list[StreamEvent]:
        """The PyClaw events for one raw event (often none or one)."""
        if isinstance(event, RawContentBlockDeltaEvent):
            return self._delta(event)
        if isinstance(event, RawContentBlockStartEvent):
            return self._start(event)
        if isinstance(event, RawContentBlockStopEvent):
            return self._stop(event)
        if isinstance(event, RawMessageStartEvent):
            message = event.message
            self._answer.response_id = message.id
            self._answer.model = message.model or self._answer.model
            u = message.usage
            self._input = (
                u.input_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens,
            )
            self._set_usage(u.output_tokens)
        elif isinstance(event, RawMessageDeltaEvent):
            if event.delta.stop_reason is not None:
                self._answer.stop_reason = event.delta.stop_reason
            u = event.usage  # cumulative counts; the input ones only when the API repeats them
            tokens, creation, read = self._input
            self._input = (
                tokens if u.input_tokens is None else u.input_tokens,
                creation
                if u.cache_creation_input_tokens is None
                else u.cache_creation_input_tokens,
                read if u.cache_read_input_tokens is None else u.cache_read_input_tokens,
            )
            self._set_usage(u.output_tokens)
        elif getattr(event, "type", None) == "message_stop":
            self.done = True
        return []

    def _set_usage(self, output_tokens: int | None) -> None:
        tokens, creation, read = self._input
        self._answer.usage = usage_of(tokens, output_tokens, creation, read)

    def _start(self, event: RawContentBlockStartEvent) -> list[StreamEvent]:
        block = event.content_block
        if isinstance(block, TextBlock):
            if block.text:
                self._answer.add_text(block.text)
                return [TextDelta(text=block.text)]
        elif isinstance(block, ToolUseBlock):
            tool = _ToolBlock(block, self._tool_count)
            self._tools[event.index] = tool
            if not self._answer.is_output_tool(tool.name):
                self._tool_count += 1
                return [ToolCallDelta(index=tool.index, id=tool.id, name=self._name(tool))]
        return []

    def _delta(self, event: RawContentBlockDeltaEvent) -> list[StreamEvent]:
        delta = event.delta
        if isinstance(delta, ApiTextDelta):
            self._answer.add_text(delta.text)
            return [TextDelta(text=delta.text)]
        if isinstance(delta, InputJSONDelta) and (tool := self._tools.get(event.index)):
            tool.pieces.append(delta.partial_json)
            if not self._answer.is_output_tool(tool.name) and delta.partial_json:
                return [ToolCallDelta(index=tool.index, arguments_delta=delta.partial_json)]
        return []

    def _stop(self, event: RawContentBlockStopEvent) -> list[StreamEvent]:
        tool = self._tools.pop(event.index, None)
        if tool is None:
            return []
        result = self._answer.add_tool_text(event.index, tool.id, tool.name, tool.raw())
        if isinstance(result, str):  # the structured answer, given as text
            return [TextDelta(text=result)]
        return [ToolCallReady(call=result)]

    def _name(self, tool: _ToolBlock) -> str:
        return self._answer.tool_name(tool.name)
