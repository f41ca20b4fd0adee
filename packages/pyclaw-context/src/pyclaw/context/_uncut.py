"""The builder's fast path: the whole prompt, uncut, when upper bounds of its counts already fit.

With a ``BoundingCounter`` that is not ready yet (its tokenizer not loaded), every count can be
replaced by an upper bound (remembered exact counts, else UTF-8 bytes). When, by those bounds,
every memory hit fits its share, no tool result exceeds the per-result cap and the whole prompt
fits the budget, exact counts would fit too and the builder would neither drop, cut nor compact
anything: the request is the same either way, and no tokenizer has to be loaded to build it. Its
``input_tokens`` is then the sum of those bounds (an upper bound, exact for remembered texts).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyclaw.context._count import REQUEST_OVERHEAD, count_system, count_tool
from pyclaw.context._history import TOKENS, SummaryIndex, Unit, history_units, unit_messages
from pyclaw.context._render import Renderer
from pyclaw.context._tokens import BoundingCounter, TokenCounter
from pyclaw.meta import AgentProfile, BuiltContext, LLMRequest, SessionEvent, ToolSpec


class UpperBoundCounter:
    """Counts with ``counter.bound``: an upper bound that never loads a tokenizer."""

    name = "upper-bound"

    def __init__(self, counter: BoundingCounter) -> None:
        self.counter = counter

    def count(self, text: str) -> int:
        return self.counter.bound(text)

    def prepare(self) -> None:
        return None


def _capped(units: Sequence[Unit], cap: int) -> bool:
    """Whether some tool result in raw history exceeds ``cap`` (the builder would cut it)."""
    return any(
        message.role == "tool" and tokens > cap
        for unit in units
        if not unit.is_summary
        for message, tokens in unit.messages
    )


class UncutBuilder:
    """Builds uncut prompts from upper bounds; keeps its own caches (bounds, not counts)."""

    def __init__(self, counter: BoundingCounter, cache_size: int) -> None:
        self.counter: TokenCounter = UpperBoundCounter(counter)
        self.renderer = Renderer(self.counter, cache_size)
        self._tools: dict[int, tuple[ToolSpec, int]] = {}

    @classmethod
    def for_counter(cls, counter: TokenCounter, cache_size: int) -> UncutBuilder | None:
        """An ``UncutBuilder`` when ``counter`` can bound without loading, else ``None``."""
        if isinstance(counter, BoundingCounter) and not counter.ready:
            return cls(counter, cache_size)
        return None

    def _tool(self, tool: ToolSpec) -> int:
        hit = self._tools.get(id(tool))
        if hit is not None and hit[0] is tool:
            return hit[1]
        if len(self._tools) > 4096:
            self._tools.clear()
        tokens = count_tool(self.counter, tool)
        self._tools[id(tool)] = (tool, tokens)
        return tokens

    def build(
        self,
        *,
        agent: AgentProfile,
        system: str,
        memory_ids: tuple[str, ...],
        hits: int,
        history: Sequence[SessionEvent],
        index: SummaryIndex,
        tools: Sequence[ToolSpec],
        budget: int,
        cap: int,
    ) -> BuiltContext | None:
        """The uncut request, or ``None`` when the bounds do not show that it fits.

        ``system`` and ``memory_ids`` come from the builder's own system prompt, made with
        ``self.counter``; ``hits`` is how many memory hits it was offered.
        """
        if len(memory_ids) < hits:
            return None
        fixed = REQUEST_OVERHEAD + count_system(self.counter, system)
        fixed += sum(map(self._tool, tools))
        if fixed > budget:
            return None
        units = history_units(history, self.renderer, index)
        total = fixed + sum(map(TOKENS, units))
        if total > budget or _capped(units, cap):
            return None
        request = LLMRequest(
            model=agent.model or "",
            system=system or None,
            messages=unit_messages(units),
            tools=tuple(tools),
            max_tokens=agent.max_output_tokens,
        )
        return BuiltContext(request=request, input_tokens=total, memory_ids=memory_ids)
