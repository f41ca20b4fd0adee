"""``UntrustedContentGuard``: wraps untrusted tool output in boundary markers the content cannot spoof."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from pyclaw.meta import LLMRequest, LLMResponse, ToolCall, ToolResult
from pyclaw.safety._boundary import (
    boundary_instructions,
    is_wrapped,
    neutralize_markers,
    unwrap_untrusted,
    wrap_untrusted,
)

_OFFLOAD_CHARS = 64_000
"""Content longer than this is neutralized in a worker thread, off the event loop."""


def default_nonce() -> str:
    """A fresh boundary nonce: 64 random bits as 16 hex digits."""
    return secrets.token_hex(8)


class UntrustedContentGuard:
    """A ``Guard`` whose ``after_tool`` wraps the content of every ``untrusted`` tool result.

    One guard holds one nonce, made by ``nonce_factory`` when the guard is created: make one guard
    per run and put ``instructions()`` (the same as ``boundary_instructions(guard.nonce)``) in that run's
    system prompt so the model knows which markers are genuine. Marker look-alikes inside the
    content are replaced first (see ``wrap_untrusted``); an untrusted error message gets the same
    neutralizing without the wrapper. A result already wrapped with this guard's nonce is returned
    as is; one wrapped with another nonce (an earlier run) is unwrapped and wrapped again. Trusted
    results, and the LLM and tool-call hooks, pass through unchanged.
    """

    def __init__(self, nonce_factory: Callable[[], str] = default_nonce) -> None:
        nonce = nonce_factory()
        boundary_instructions(nonce)  # validates the nonce's shape (raises UsageError)
        self._nonce = nonce

    @property
    def nonce(self) -> str:
        """The id carried by this guard's genuine markers."""
        return self._nonce

    def instructions(self) -> str:
        """The system-prompt text naming this guard's genuine markers."""
        return boundary_instructions(self._nonce)

    def wrap(self, result: ToolResult) -> ToolResult:
        """``result`` with its content wrapped and its error message neutralized (synchronous)."""
        update: dict[str, object] = {}
        content = result.content
        if content and not is_wrapped(content, self._nonce):
            inner = unwrap_untrusted(content)
            body = content if inner is None else inner
            update["content"] = wrap_untrusted(body, self._nonce, source=result.name)
        if result.error is not None:
            message = neutralize_markers(result.error.message, self._nonce)
            if message is not result.error.message:
                update["error"] = result.error.model_copy(update={"message": message})
        return result.model_copy(update=update) if update else result

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        return request

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        return response

    async def before_tool(self, call: ToolCall) -> ToolCall:
        return call

    async def after_tool(self, result: ToolResult) -> ToolResult:
        if not result.untrusted:
            return result
        if len(result.content) > _OFFLOAD_CHARS:
            return await asyncio.to_thread(self.wrap, result)
        return self.wrap(result)
