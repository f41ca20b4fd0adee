"""The router takes one prompt string, not chat messages: render a conversation with a template.

``chatml`` (``<|im_start|>role … <|im_end|>``, what most instruct models served by Cortensor's
miners expect) is the default; ``plain`` writes ``System:``/``User:``/``Assistant:`` turns for
models without a chat template. Tool calls and results are rendered as text (the router has no
tool-call protocol), and the answer is cut at the template's end-of-turn marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pyclaw.llm._chat_format import tool_result_text
from pyclaw.llm._replies import arguments_text
from pyclaw.meta import ImagePart, LLMRequest, Message, TextPart, ToolCallPart, ToolResultPart

ChatTemplate = Literal["chatml", "plain"]
CHAT_TEMPLATES: tuple[ChatTemplate, ...] = ("chatml", "plain")

_STOPS: dict[ChatTemplate, tuple[str, ...]] = {
    "chatml": ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "plain": ("\nUser:", "\nSystem:"),
}
_PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}


def message_text(message: Message) -> str:
    """Everything in a message as text: text parts, tool calls and tool results."""
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ToolCallPart):
            pieces.append(f"[tool call {part.call.name} {arguments_text(part.call)}]")
        elif isinstance(part, ToolResultPart):
            result = part.result
            pieces.append(f"[tool result {result.name}: {tool_result_text(result)}]")
        elif isinstance(part, ImagePart):  # pyright: ignore[reportUnnecessaryIsInstance] - future parts
            pieces.append("[image omitted]")
    return "\n".join(pieces)


def _turns(request: LLMRequest) -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    if request.system:
        turns.append(("system", request.system))
    for message in request.messages:
        role = "user" if message.role == "tool" else message.role
        turns.append((role, message_text(message)))
    return turns


def render_prompt(request: LLMRequest, template: ChatTemplate = "chatml") -> str:
    """The prompt string for ``request``, ending where the assistant's answer starts."""
    turns = _turns(request)
    if template == "chatml":
        body = "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in turns)
        return f"{body}<|im_start|>assistant\n"
    body = "".join(f"{_PLAIN_ROLES[role]}: {text}\n\n" for role, text in turns)
    return f"{body}Assistant:"


def stop_markers(template: ChatTemplate, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Where an answer ends: the template's markers plus the request's own ``stop`` strings."""
    return (*_STOPS[template], *(s for s in extra if s))


class StopCutter:
    """Cuts streamed text at the first stop marker, holding back a tail that might be the start
    of one. ``feed`` returns the text safe to show; ``flush`` the rest once the stream ends."""

    def __init__(self, markers: Iterable[str]) -> None:
        self._markers = tuple(m for m in markers if m)
        self._hold = max((len(m) for m in self._markers), default=1) - 1
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self._pending += text
        cut = min((i for m in self._markers if (i := self._pending.find(m)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        keep = min(self._hold, len(self._pending))
        split = len(self._pending) - keep
        out, self._pending = self._pending[:split], self._pending[split:]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out


def clean_answer(text: str, markers: Iterable[str]) -> str:
    """``text`` cut at the first stop marker, without leading whitespace."""
    cutter = StopCutter(markers)
    return (cutter.feed(text) + cutter.flush()).lstrip()
