"""``ScriptedProvider``: answers from a queue of replies written in advance."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from pyclaw.llm._fake import FakeProvider
from pyclaw.llm._replies import Reply, check_reply
from pyclaw.meta import LLMRequest, ProviderError


class ScriptedProvider(FakeProvider):
    """An ``LLMProvider`` that returns scripted replies in order, for tests and replay.

    ``ScriptedProvider(["Hi!", ToolCall(name="weather", arguments={"city": "Oslo"}), "Sunny."])``
    answers the first request with the text ``Hi!``, the second with a tool call, and so on. When
    the script runs out, the call raises ``ProviderError``.
    """

    def __init__(
        self, replies: Iterable[Reply] = (), *, name: str = "scripted", latency: float = 0.0
    ) -> None:
        super().__init__(name=name, latency=latency)
        self._script: deque[Reply] = deque(check_reply(r) for r in replies)
        self._total = len(self._script)

    def add(self, *replies: Reply) -> None:
        """Append replies to the end of the script."""
        checked = [check_reply(r) for r in replies]
        self._script.extend(checked)
        self._total += len(checked)

    @property
    def remaining(self) -> int:
        """How many scripted replies are still unused."""
        return len(self._script)

    async def _next_reply(self, request: LLMRequest) -> Reply:
        if not self._script:
            raise ProviderError(
                f"scripted provider {self.name!r} has no reply left for request "
                f"#{len(self.requests)} (its script held {self._total})",
                hint="add replies with ScriptedProvider.add() or pass more to the constructor",
            )
        return self._script.popleft()
