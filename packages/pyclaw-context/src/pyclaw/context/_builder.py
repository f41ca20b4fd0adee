"""The default ``ContextBuilder``: system prompt, skills, memories and history under a token budget."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pyclaw.context._compact import Compactor
from pyclaw.context._count import REQUEST_OVERHEAD, count_system, count_tool
from pyclaw.context._history import TOKENS, SummaryIndex, history_units, unit_messages
from pyclaw.context._recall import RecallCache, turn_of
from pyclaw.context._render import Renderer
from pyclaw.context._settings import ContextSettings
from pyclaw.context._shrink import TurnShrinker
from pyclaw.context._summarize import ExtractiveSummarizer, Summarizer
from pyclaw.context._tokens import TokenCounter, default_counter
from pyclaw.context._uncut import UncutBuilder
from pyclaw.meta import (
    AgentProfile,
    BuiltContext,
    ContextOverflowError,
    LLMRequest,
    MemoryHit,
    MemoryStore,
    PyClawError,
    SessionEvent,
    ToolSpec,
)

_log = logging.getLogger("pyclaw.context")


class DefaultContextBuilder:
    """Builds each ``LLMRequest`` so that its prompt never exceeds ``budget_tokens``.

    The system prompt is the agent's own, then ``## Skills`` (``settings.skills`` and ``skills``),
    then ``## Relevant memories`` (hits of ``memory.search(query)``, at most
    ``settings.memory_share`` of the budget). History follows as messages: recorded summaries in
    place of the events they cover, then raw turns. When it does not fit, old turns are summarized
    (see ``ContextSettings``); new summaries come back in ``BuiltContext.summaries`` for the caller
    to append to the session log. Token counts are cached per event, per turn and per summary,
    and each session's history is walked incrementally as it grows (``SummaryIndex``), so one
    builder should live as long as the process.

    ``counter`` defaults to tiktoken (``o200k_base``, offline) with the estimate as fallback;
    until a build needs exact counts it is not even loaded: a prompt that fits whole by upper
    bounds (see ``_uncut``) is built without it, its ``input_tokens`` then being that bound;
    ``summarizer`` to the deterministic ``ExtractiveSummarizer`` (pass an ``LLMSummarizer`` for
    model-written summaries; it falls back to the extractive one when the model fails).
    """

    def __init__(
        self,
        *,
        counter: TokenCounter | None = None,
        summarizer: Summarizer | None = None,
        memory: MemoryStore | None = None,
        settings: ContextSettings | None = None,
        skills: Sequence[str] = (),
    ) -> None:
        self.counter: TokenCounter = counter if counter is not None else default_counter()
        self.settings = settings if settings is not None else ContextSettings()
        self.summarizer: Summarizer = (
            summarizer if summarizer is not None else ExtractiveSummarizer(self.counter)
        )
        self.memory = memory
        self.skills: tuple[str, ...] = (*self.settings.skills, *skills)
        self.renderer = Renderer(self.counter, self.settings.cache_size)
        self.shrinker = TurnShrinker(self.counter, self.settings.cache_size // 4)
        self._tool_tokens: dict[str, int] = {}
        self._tool_ids: dict[int, tuple[ToolSpec, int]] = {}
        self._prepared = False
        self.recall = RecallCache()
        """Memory hits reused across a turn's model calls (``recall.reuse_s``, 30 s by default)."""
        self._uncut = UncutBuilder.for_counter(self.counter, self.settings.cache_size // 4)
        self._summaries: dict[str, SummaryIndex] = {}  # per session

    async def build(
        self,
        *,
        agent: AgentProfile,
        history: Sequence[SessionEvent],
        tools: Sequence[ToolSpec],
        budget_tokens: int,
        query: str | None = None,
    ) -> BuiltContext:
        hits = await self._search(agent, query, history)
        if not self._prepared:
            if self._uncut is not None:  # the whole prompt may fit by bounds: no tokenizer needed
                system, memory_ids = self._system(agent, hits, budget_tokens, self._uncut.counter)
                uncut = self._uncut.build(
                    agent=agent,
                    system=system,
                    memory_ids=memory_ids,
                    hits=len(hits),
                    history=history,
                    index=self._index(history),
                    tools=tools,
                    budget=budget_tokens,
                    cap=int(self.settings.tool_result_share * budget_tokens),
                )
                if uncut is not None:
                    return uncut
            # loading a tiktoken encoding takes a few hundred ms: not on the loop
            await asyncio.to_thread(self.counter.prepare)
            self._prepared, self._uncut = True, None
        system, memory_ids = self._system(agent, hits, budget_tokens)
        fixed = REQUEST_OVERHEAD + count_system(self.counter, system)
        fixed += sum(map(self._tool, tools))
        if fixed > budget_tokens:
            raise ContextOverflowError(
                f"the system prompt and tool schemas alone need {fixed} tokens but the budget is "
                f"{budget_tokens}",
                hint="shorten the system prompt, offer fewer tools or raise context_tokens",
            )
        units = history_units(history, self.renderer, self._index(history))
        compactor = Compactor(self.renderer, self.summarizer, self.settings, self.shrinker)
        units, made = await compactor.fit(units, fixed=fixed, budget=budget_tokens)
        request = LLMRequest(
            model=agent.model or "",
            system=system or None,
            messages=unit_messages(units),
            tools=tuple(tools),
            max_tokens=agent.max_output_tokens,
        )
        return BuiltContext(
            request=request,
            input_tokens=fixed + sum(map(TOKENS, units)),
            summaries=tuple(made),
            memory_ids=memory_ids,
        )

    def _index(self, history: Sequence[SessionEvent]) -> SummaryIndex:
        key = history[0].session_id if history else ""
        index = self._summaries.get(key)
        if index is None:
            if len(self._summaries) >= 1024:
                self._summaries.clear()
            index = self._summaries[key] = SummaryIndex()
        return index

    def _tool(self, tool: ToolSpec) -> int:
        """The tokens of ``tool``'s schema: remembered by identity (an agent offers the same
        frozen specs at every build, and an entry keeps its spec alive, so its ``id`` is not
        reused), else by its JSON (an equal spec made again)."""
        hit = self._tool_ids.get(id(tool))
        if hit is not None:
            return hit[1]
        key = tool.model_dump_json()
        tokens = self._tool_tokens.get(key)
        if tokens is None:
            if len(self._tool_tokens) > 4096:
                self._tool_tokens.clear()
            tokens = self._tool_tokens[key] = count_tool(self.counter, tool)
        if len(self._tool_ids) > 4096:
            self._tool_ids.clear()
        self._tool_ids[id(tool)] = (tool, tokens)
        return tokens

    async def _search(
        self, agent: AgentProfile, query: str | None, history: Sequence[SessionEvent]
    ) -> list[MemoryHit]:
        if self.memory is None or not query or not query.strip() or self.settings.memory_limit == 0:
            return []
        key = (agent.name, query, turn_of(history))
        hits = self.recall.get(self.memory, key)
        if hits is not None:
            return hits
        try:
            async with asyncio.timeout(self.settings.memory_timeout_s):
                hits = await self.memory.search(
                    query, agent=agent.name, limit=self.settings.memory_limit
                )
        except (TimeoutError, PyClawError) as exc:
            _log.warning("memory search failed (%s); building without memories", exc)
            return []
        self.recall.put(self.memory, key, hits)
        return hits

    def _system(
        self,
        agent: AgentProfile,
        hits: Sequence[MemoryHit],
        budget: int,
        counter: TokenCounter | None = None,
    ) -> tuple[str, tuple[str, ...]]:
        """The system prompt and the ids of the memories that made it in (counted by
        ``counter``, by default the builder's)."""
        counter = self.counter if counter is None else counter
        sections = [agent.system_prompt.strip()] if agent.system_prompt.strip() else []
        if self.skills:
            sections.append("## Skills\n\n" + "\n\n".join(s.strip() for s in self.skills))
        lines: list[str] = []
        ids: list[str] = []
        allowance = int(self.settings.memory_share * budget)
        heading = "## Relevant memories\n"
        spent = counter.count(heading)
        for hit in hits:
            line = f"- ({hit.item.kind}) {hit.item.text.strip()}"
            cost = counter.count(line) + 1
            if spent + cost > allowance:
                continue
            spent += cost
            lines.append(line)
            ids.append(hit.item.id)
        if lines:
            sections.append(heading + "\n".join(lines))
        return "\n\n".join(sections), tuple(ids)
