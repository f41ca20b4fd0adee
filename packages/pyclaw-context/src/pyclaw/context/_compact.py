"""Compaction: replaces old turns with summaries, and summaries with higher-level ones, until the
prompt fits; a current turn too big for its room is shrunk (``_shrink``) rather than failing.
Every step must shrink the prompt; when nothing is left to shrink it raises
``ContextOverflowError`` instead of trying again, so a build never loops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pyclaw.context._count import truncate_to_tokens
from pyclaw.context._history import TOKENS, Unit, summary_unit
from pyclaw.context._render import Renderer
from pyclaw.context._settings import ContextSettings
from pyclaw.context._shrink import TurnShrinker
from pyclaw.context._summarize import ExtractiveSummarizer, Summarizer
from pyclaw.meta import ContextOverflowError, Message, PyClawError, SummaryEvent

_log = logging.getLogger("pyclaw.context")

_HINT = "raise the agent's context_tokens, shorten the system prompt or offer fewer tools"


def overflow(needed: int, budget: int, fixed: int, current: int) -> ContextOverflowError:
    return ContextOverflowError(
        f"the prompt needs at least {needed} tokens but the budget is {budget} "
        f"(system prompt and tools {fixed}, current turn {current} at its most compact)",
        hint=_HINT,
    )


def current_turn(units: Sequence[Unit]) -> int:
    """Index of the newest raw turn (never summarized, only shrunk), or ``len(units)``."""
    return len(units) - 1 if units and not units[-1].is_summary else len(units)


class Compactor:
    """Fits history units into ``budget`` tokens, making summaries with ``summarizer``."""

    def __init__(
        self,
        renderer: Renderer,
        summarizer: Summarizer,
        settings: ContextSettings,
        shrinker: TurnShrinker | None = None,
    ) -> None:
        self.renderer = renderer
        self.summarizer = summarizer
        self.fallback = ExtractiveSummarizer(renderer.counter)
        self.shrinker = shrinker if shrinker is not None else TurnShrinker(renderer.counter)
        self.settings = settings
        self.units: list[Unit] = []
        self.fixed = 0
        self.budget = 0
        self.cap = 0

    @property
    def total(self) -> int:
        return self.fixed + sum(map(TOKENS, self.units))

    async def fit(
        self, units: list[Unit], *, fixed: int, budget: int
    ) -> tuple[list[Unit], list[SummaryEvent]]:
        """The units, compacted to fit, and the summaries made (in order, only those still used)."""
        self.fixed, self.budget = fixed, budget
        self.cap = int(self.settings.tool_result_share * budget)
        cur = current_turn(units)
        turn = units[cur] if cur < len(units) else None  # uncapped: cuts start from the whole
        self.units = units = self.shrinker.cap(units, self.cap)
        if self.total <= budget:
            return units, []
        before = sum(map(TOKENS, units[:cur]))
        older = min(before, self._header(0, 0) + self.settings.min_summary_tokens)
        hard = False  # the newest step must be cut: older turns are all summarized first
        if turn is not None:
            units[cur] = light = self._turn(turn, before, light=True)
            if light.tokens > self._turn_room(before):
                units[cur], hard = self._turn(turn, before), True
            elif self.total <= budget:
                return units, []
        latest = units[cur].tokens if turn is not None else 0
        if fixed + latest + older > budget:
            raise overflow(fixed + latest + older, budget, fixed, latest)
        room = budget - fixed
        await self._level0(keep=0 if hard else int(self.settings.recent_share * room))
        await self._merge(room)
        if self.total > budget:
            await self._level0(keep=0)
            await self._merge(room)
        if self.total > budget:
            await self._squeeze()
        if turn is not None:  # the turn may use what compaction left (as the next build will)
            self.units[-1] = self._turn(turn, sum(map(TOKENS, self.units[:-1])))
        if self.total > budget:
            raise overflow(self.total, budget, fixed, latest)
        made = [u.summary for u in self.units if u.new and u.summary is not None]
        return self.units, made

    # -- steps -------------------------------------------------------------------------------

    def _turn_room(self, before: int) -> int:
        """The room for the current turn beside older history of ``before`` tokens: all that
        history leaves, but older history may keep up to ``summary_share`` of the room."""
        room = self.budget - self.fixed
        share = self._header(0, 0) + self.settings.min_summary_tokens
        return room - min(before, max(share, int(self.settings.summary_share * room)))

    def _turn(self, turn: Unit, before: int, *, light: bool = False) -> Unit:
        """The current turn shrunk to ``_turn_room(before)`` (``light``: older steps only).

        The target depends only on the turn and on the older history the build ends with, so
        recording a build's summaries does not change how the next build shrinks the same turn.
        """
        return self.shrinker.shrink(turn, self._turn_room(before), cap=self.cap, light=light)

    async def _level0(self, *, keep: int) -> None:
        """Summarize every raw turn older than the newest ones that fit in ``keep`` tokens."""
        units = self.units
        chunks = self._chunks(units[: self._cut(keep)])
        if not chunks:
            return
        before = self.total
        replaced: dict[int, Unit] = {}
        for chunk in chunks:
            target = self._target(chunk, self.settings.summary_ratio)
            replaced[id(chunk[0])] = await self._summary(chunk, level=0, target=target)
        out: list[Unit] = []
        drop = {id(u) for chunk in chunks for u in chunk[1:]}
        for unit in units:
            if id(unit) in replaced:
                out.append(replaced[id(unit)])
            elif id(unit) not in drop:
                out.append(unit)
        self._commit(out, before, "summarizing old turns")

    async def _merge(self, room: int) -> None:
        """Merge leading summaries a level up while they take too much room or the prompt is over."""
        while True:
            prefix = self._prefix()
            share = sum(u.tokens for u in self.units[:prefix])
            if self.total <= self.budget and share <= self.settings.summary_share * room:
                return
            group = self._pick(self.units[:prefix])
            if group is None:
                return
            start, end, level = group
            members = self.units[start:end]
            target = self._target(members, self.settings.merge_ratio)
            merged = await self._summary(members, level=level, target=target)
            before = self.total
            self._commit(
                [*self.units[:start], merged, *self.units[end:]], before, "merging summaries"
            )

    async def _squeeze(self) -> None:
        """Last resort: re-summarize all leading summaries into one that leaves the prompt in budget."""
        prefix = self._prefix()
        if prefix == 0:
            return
        members = self.units[:prefix]
        first, last = members[0].first_seq, members[-1].last_seq
        room = (
            self.budget - (self.total - sum(u.tokens for u in members)) - self._header(first, last)
        )
        if room < self.settings.min_summary_tokens:
            return
        level = min(max(u.level for u in members) + 1, self.settings.max_summary_level)
        merged = await self._summary(members, level=level, target=room)
        self._commit([merged, *self.units[prefix:]], self.total, "shrinking the summaries")

    # -- helpers -----------------------------------------------------------------------------

    def _cut(self, keep: int) -> int:
        """Where verbatim turns start: the newest turns within ``keep`` (at least the current one).

        Summarizing less than a summary's own size cannot help, so a too-small old part takes in
        more recent turns; if even that is not enough, nothing is cut (returns 0).
        """
        units = self.units
        cur = current_turn(units)
        cut, kept = cur, units[cur].tokens if cur < len(units) else 0
        while cut > 0 and not units[cut - 1].is_summary and kept + units[cut - 1].tokens <= keep:
            cut -= 1
            kept += units[cut].tokens
        worth = self._header(0, 0) + self.settings.min_summary_tokens
        old = sum(u.tokens for u in units[:cut] if not u.is_summary)
        while 0 < old < worth and cut < cur:
            old += 0 if units[cut].is_summary else units[cut].tokens
            cut += 1
        return 0 if 0 < old < worth else cut

    def _chunks(self, older: Sequence[Unit]) -> list[list[Unit]]:
        """Runs of raw turns, split to at most ``chunk_tokens`` (a small remainder joins the last)."""
        limit = self.settings.chunk_tokens
        chunks: list[list[Unit]] = []
        split: list[bool] = []  # chunk i continues the run of chunk i-1
        after_summary = True
        for unit in older:
            if unit.is_summary:
                after_summary = True
                continue
            if not after_summary and sum(u.tokens for u in chunks[-1]) + unit.tokens <= limit:
                chunks[-1].append(unit)
            else:
                split.append(not after_summary)
                chunks.append([unit])
            after_summary = False
        for i in range(len(chunks) - 1, 0, -1):
            if split[i] and sum(u.tokens for u in chunks[i]) < limit // 4:
                chunks[i - 1].extend(chunks.pop(i))
        return chunks

    def _prefix(self) -> int:
        n = 0
        while n < len(self.units) and self.units[n].is_summary:
            n += 1
        return n

    def _pick(self, prefix: Sequence[Unit]) -> tuple[int, int, int] | None:
        """The oldest run of >= 2 summaries of the lowest such level, else all of them."""
        if len(prefix) < 2:
            return None
        cap = self.settings.max_summary_level
        for level in sorted({u.level for u in prefix}):
            start = 0
            while start < len(prefix):
                end = start
                while end < len(prefix) and prefix[end].level == level:
                    end += 1
                if end - start >= 2:
                    return start, end, min(level + 1, cap)
                start = max(end, start + 1)
        return 0, len(prefix), min(max(u.level for u in prefix) + 1, cap)

    def _target(self, members: Sequence[Unit], ratio: float) -> int:
        """Summary size for ``members``: ``ratio`` of them within the min/max settings, but always
        small enough (header included) to be shorter than what it replaces."""
        tokens = sum(u.tokens for u in members)
        target = int(tokens * ratio)
        target = max(
            self.settings.min_summary_tokens, min(target, self.settings.max_summary_tokens)
        )
        shrinking = tokens - self._header(members[0].first_seq, members[-1].last_seq) - 1
        return max(1, min(target, shrinking))

    def _header(self, first: int, last: int) -> int:
        probe = SummaryEvent(text="", first_seq=first, last_seq=last)
        return self.renderer.summary(None, probe)[1]

    async def _summary(self, members: Sequence[Unit], *, level: int, target: int) -> Unit:
        """One summary unit standing for ``members``, at most ``target`` tokens plus its header."""
        messages: list[Message] = [m for u in members for m, _ in u.messages]
        first, last = members[0].first_seq, members[-1].last_seq
        text = await self._text(messages, target=target, level=level)
        limit = self._header(first, last) + target
        budget = target
        while True:  # the header and text may tokenize a little differently together
            short = truncate_to_tokens(self.renderer.counter, text, budget) or "(nothing to keep)"
            made = SummaryEvent(text=short, first_seq=first, last_seq=last, level=level)
            unit = summary_unit(self.renderer, made, None)
            if unit.tokens <= limit or budget <= 1:
                return unit
            budget = min(budget - 1, budget - (unit.tokens - limit))

    async def _text(self, messages: list[Message], *, target: int, level: int) -> str:
        try:
            async with asyncio.timeout(self.settings.summarize_timeout_s):
                text = await self.summarizer.summarize(messages, target_tokens=target, level=level)
        except (TimeoutError, PyClawError) as exc:
            if self.summarizer is self.fallback:
                raise
            _log.warning("summarizer failed (%s); falling back to the extractive summary", exc)
            text = await self.fallback.summarize(messages, target_tokens=target, level=level)
        return text.strip()

    def _commit(self, units: list[Unit], before: int, what: str) -> None:
        after = self.fixed + sum(u.tokens for u in units)
        if after >= before:
            raise ContextOverflowError(
                f"compaction stopped: {what} did not shrink the prompt ({before} -> {after} tokens, "
                f"budget {self.budget})",
                hint=_HINT,
            )
        self.units = units
