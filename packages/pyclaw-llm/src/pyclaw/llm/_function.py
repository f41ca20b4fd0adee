"""``FunctionProvider``: answers by calling a function of the request."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from pyclaw.llm._fake import FakeProvider
from pyclaw.llm._replies import Reply, check_reply
from pyclaw.meta import LLMRequest

ReplyFunction = Callable[[LLMRequest], Reply | Awaitable[Reply]]
"""``fn(request)`` returning (or, when async, resolving to) a ``Reply``."""


class FunctionProvider(FakeProvider):
    """An ``LLMProvider`` that answers each request with ``fn(request)``, sync or async.

    The reply can depend on the request (echo the last message, call a tool only when it is
    offered, fail on the third call…). An exception raised by ``fn`` propagates to the caller.
    """

    def __init__(self, fn: ReplyFunction, *, name: str = "function", latency: float = 0.0) -> None:
        super().__init__(name=name, latency=latency)
        self._fn = fn

    async def _next_reply(self, request: LLMRequest) -> Reply:
        result = self._fn(request)
        if inspect.isawaitable(result):
            result = await result
        return check_reply(result)
