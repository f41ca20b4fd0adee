"""``RedactionGuard``: secrets removed from what goes to the model and what comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from pyclaw.meta import LLMRequest, LLMResponse, Model, Redactor, ToolCall, ToolResult
from pyclaw.safety._memo import DEFAULT_MEMO_SIZE, RedactionMemo, redactor_version
from pyclaw.safety._redaction import redact_model, redact_within, text_size

INLINE_LIMIT = 32 * 1024
"""Up to this many characters are redacted on the event loop: below it a worker-thread hop costs
more than the scan (which holds the GIL either way); above it the loop stays responsive."""

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=Model)

_Parts = tuple[list[Model], str | None, LLMRequest]
"""A request's messages and tool specs, its system prompt and the rest of it."""


class RedactionGuard:
    """A ``Guard`` that removes secrets from what goes to the model and what comes back.

    ``before_llm`` redacts the request (messages, system prompt, tool specs) before it leaves for
    a possibly remote provider; ``after_llm`` redacts the response and ``after_tool`` the tool
    result, so a tool echoing an API key never reaches the model, the session log or a channel. A
    hook returns the same object when nothing matched and a new one otherwise, which the brain
    records as a transform. ``before_tool`` passes calls through: rewriting arguments would run a
    different call than the one policy approved.

    Each step's request mostly repeats the last one's messages (the same objects), so with a
    redactor that has a ``version`` counter (``SecretRedactor``) the redacted form of each message,
    tool spec and system prompt is remembered (``memo_size`` models) and only new ones are
    scanned; registering a secret forgets it all. Inputs up to ``inline_limit`` characters are
    redacted on the event loop, larger ones in a worker thread.
    """

    def __init__(
        self,
        redactor: Redactor,
        *,
        memo_size: int = DEFAULT_MEMO_SIZE,
        inline_limit: int = INLINE_LIMIT,
    ) -> None:
        self._redactor = redactor
        self._memo = RedactionMemo(memo_size)
        self._inline_limit = inline_limit

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        version = redactor_version(self._redactor)
        if version is None:
            return await self._model(request)
        memo = self._memo
        memo.sync(version)
        parts: tuple[Model, ...] = (*request.messages, *request.tools)
        known, changed, missed = memo.models(parts)
        todo = list({id(parts[i]): parts[i] for i in missed}.values())
        system = request.system
        system_out = None if system is None else memo.text(system)
        scan_system = system if system_out is None else None
        shell = request.model_copy(update={"messages": (), "tools": (), "system": None})
        sizes = [text_size(part) for part in todo]
        size = sum(sizes) + len(scan_system or "") + text_size(shell)
        redacted, new_system, shell_out = await self._off_loop(
            size, self._parts, todo, scan_system, shell
        )
        fresh: dict[int, Model] = {}
        for part, out, chars in zip(todo, redacted, sizes, strict=True):
            fresh[id(part)] = out
            memo.remember_model(part, out, version, chars)
            changed = changed or out is not part
        if scan_system is not None and new_system is not None:
            memo.remember_text(scan_system, new_system, version)
            system_out = new_system
        if not changed and shell_out is shell and system_out == system:
            return request
        final = known
        for i in missed:
            final[i] = fresh[id(parts[i])]
        n = len(request.messages)
        base = request if shell_out is shell else shell_out
        update = {"messages": tuple(final[:n]), "tools": tuple(final[n:]), "system": system_out}
        return base.model_copy(update=update)

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        return await self._model(response)

    async def before_tool(self, call: ToolCall) -> ToolCall:
        return call

    async def after_tool(self, result: ToolResult) -> ToolResult:
        return await self._model(result)

    async def _model(self, model: M) -> M:
        return await self._off_loop(text_size(model), redact_model, model, self._redactor)

    async def _off_loop(
        self, size: int, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args, **kwargs)`` here when ``size`` is small, else in a worker thread."""
        if size <= self._inline_limit:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    def _parts(self, todo: Sequence[Model], system: str | None, shell: LLMRequest) -> _Parts:
        """``todo``, ``system`` and ``shell`` redacted (blocking; may run in a worker thread)."""
        redactor = self._redactor
        parts = [redact_within(part, redactor, "LLMRequest") for part in todo]
        new_system = None if system is None else redactor.redact(system)
        return parts, new_system, redact_within(shell, redactor, "LLMRequest")
