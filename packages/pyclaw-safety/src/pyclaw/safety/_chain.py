"""``GuardChain``: several guards run in order as one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pyclaw.meta import Guard as GuardProtocol
from pyclaw.meta import GuardVetoError, LLMRequest, LLMResponse, ToolCall, ToolResult

T = TypeVar("T")

Hook = Callable[[GuardProtocol], Callable[[T], Awaitable[T]]]


class GuardChain:
    """A ``Guard`` that runs ``guards`` in the order given, for every hook.

    Each guard receives what the previous one returned, so transforms compose; a ``GuardVetoError``
    stops the chain at once and propagates. Any other exception from a guard also stops it, as a
    ``GuardVetoError`` naming the guard and hook (the cause is chained, its message not copied, as
    it may quote the content): a broken safety check fails closed.
    """

    def __init__(self, guards: Sequence[GuardProtocol]) -> None:
        self._guards = tuple(guards)

    @property
    def guards(self) -> tuple[GuardProtocol, ...]:
        return self._guards

    async def _run(self, hook: str, value: T, pick: Hook[T]) -> T:
        for guard in self._guards:
            try:
                value = await pick(guard)(value)
            except GuardVetoError:
                raise
            except Exception as exc:
                raise GuardVetoError(
                    f"guard {type(guard).__name__} failed in {hook} ({type(exc).__name__})"
                ) from exc
        return value

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        return await self._run("before_llm", request, lambda g: g.before_llm)

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        return await self._run("after_llm", response, lambda g: g.after_llm)

    async def before_tool(self, call: ToolCall) -> ToolCall:
        return await self._run("before_tool", call, lambda g: g.before_tool)

    async def after_tool(self, result: ToolResult) -> ToolResult:
        return await self._run("after_tool", result, lambda g: g.after_tool)
