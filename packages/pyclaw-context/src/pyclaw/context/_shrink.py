"""Shrinking the current turn of a long mission to a token target, deterministically.

A mission's current turn (the last user message and every step after it) grows with each tool
result. When it does not fit, the shrinker applies moves one at a time, stopping as soon as the
turn fits: (1) older tool results become stubs (first and last lines and an elision note), oldest
first; (2) older assistant texts and long tool-call arguments are cut, then older stubs lose their
lines (the note stays), oldest first; (3) the newest step's
results are cut, but not below a floor; (4) the oldest steps are dropped whole (a call never
without its result), a note on the first remaining assistant message saying what was left out;
(5) the newest results are cut to bare notes; (6) the newest assistant messages are cut. The user
message is never touched. The result is a view for one prompt; the session log keeps everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pyclaw.context._count import count_message
from pyclaw.context._elide import fit_result, shrink_assistant, stub_result, with_note
from pyclaw.context._history import TOKENS, Unit
from pyclaw.context._render import Bounded, Rendered
from pyclaw.context._tokens import TokenCounter
from pyclaw.meta import Message, ToolResult

NEWEST_FLOOR_SHARE = 0.25
"""Older steps are dropped before the newest results are cut below this share of the target."""


class _Turn:
    """The messages of one turn being shrunk, with a running token total."""

    def __init__(self, counter: TokenCounter, raw: Unit, capped: Unit, target: int) -> None:
        self.counter = counter
        self.msgs = list(capped.messages)
        self.target = target
        self.total = capped.tokens
        self.results = {r.call_id: r for m, _ in raw.messages for r in m.tool_results}
        """The whole results by call id: every cut starts again from them."""

    def result(self, i: int) -> ToolResult:
        return self.results[self.msgs[i][0].tool_results[0].call_id]

    @property
    def fits(self) -> bool:
        return self.total <= self.target

    def put(self, i: int, message: Message, tokens: int | None = None) -> None:
        """Replace message ``i`` when that makes the turn smaller."""
        n = count_message(self.counter, message) if tokens is None else tokens
        old = self.msgs[i][1]
        if n < old:
            self.msgs[i] = (message, n)
            self.total += n - old

    def each(self, indexes: list[int], move: Callable[[int], None]) -> bool:
        """Apply ``move`` to each index in turn until the turn fits; True when it does."""
        for i in indexes:
            if self.fits:
                return True
            move(i)
        return self.fits


class TurnShrinker:
    """Shrinks a turn's messages to a token target (see the module docstring for the order).

    Stubs and cut texts are cached by what they stand for (call id, length and hash of the
    content; Python computes a string's hash once), so a long mission is not re-counted at every
    step. Keep one shrinker per builder.
    """

    def __init__(self, counter: TokenCounter, cache_size: int = 200_000) -> None:
        self.counter = counter
        self._cache: Bounded[tuple[object, ...], Rendered] = Bounded(cache_size)

    def _memo(self, key: tuple[object, ...], make: Callable[[], Message]) -> Rendered:
        hit = self._cache.data.get(key)
        if hit is None:
            message = make()
            hit = self._cache.put(key, (message, count_message(self.counter, message)))
        return hit

    def _result_memo(self, result: ToolResult, kind: str, make: Callable[[], Message]) -> Rendered:
        """Memoized by what the result says (its content's hash is computed once per string)."""
        content = result.content
        key = (kind, result.call_id, result.status, len(content), hash(content))
        return self._memo(key, make)

    def cap(self, units: list[Unit], limit: int) -> list[Unit]:
        """``units`` with every tool result over ``limit`` tokens cut to ``limit`` (new units
        only where something was cut)."""
        if max(map(TOKENS, units), default=0) <= limit:  # the usual case: nothing to cut
            return list(units)
        out: list[Unit] = []
        for unit in units:
            if unit.summary is not None or unit.tokens <= limit:
                out.append(unit)
                continue
            messages = [self._capped(m, n, limit) for m, n in unit.messages]
            tokens = sum(n for _, n in messages)
            out.append(Unit(unit.first_seq, unit.last_seq, messages, tokens))
        return out

    def _capped(self, message: Message, tokens: int, limit: int) -> Rendered:
        if message.role != "tool" or tokens <= limit:
            return message, tokens
        result = message.tool_results[0]
        return self._result_memo(
            result, f"cap:{limit}", lambda: fit_result(self.counter, message, limit)[0]
        )

    def shrink(self, unit: Unit, target: int, *, cap: int, light: bool = False) -> Unit:
        """``unit`` with its tool results capped at ``cap`` tokens each, shrunk to at most
        ``target`` tokens, or as small as it can be made.

        ``light`` stops before the newest step is touched (older results and texts only).
        """
        capped = self.cap([unit], cap)[0]
        if capped.tokens <= target:
            return capped
        t = _Turn(self.counter, unit, capped, target)
        self._shrink(t, light=light)
        return Unit(unit.first_seq, unit.last_seq, t.msgs, t.total)

    def _shrink(self, t: _Turn, *, light: bool) -> None:
        c = self.counter

        def stub(i: int, bare: bool = False) -> None:
            result = t.result(i)

            def make() -> Message:
                return Message.tool(stub_result(c, result, bare=bare))

            t.put(i, *self._result_memo(result, "bare" if bare else "stub", make))

        def cut_text(i: int) -> None:
            message = t.msgs[i][0]
            body = message.model_dump_json()
            key = ("text", len(body), hash(body))
            t.put(i, *self._memo(key, lambda: shrink_assistant(c, message)))

        lay = _Layout(t.msgs)
        if t.each(lay.older("tool"), stub) or t.each(lay.older("assistant"), cut_text):
            return
        if t.each(lay.older("tool"), lambda i: stub(i, bare=True)) or light:
            return
        floor = int(NEWEST_FLOOR_SHARE * t.target)
        if self._cut_newest(t, lay.newest("tool"), floor) or self._drop_steps(t, lay):
            return
        lay = _Layout(t.msgs)
        if self._cut_newest(t, lay.newest("tool"), 0):
            return
        t.each(lay.newest("assistant"), cut_text)

    def _cut_newest(self, t: _Turn, indexes: list[int], floor: int) -> bool:
        """Cut the newest results to share what is left of the target (not below ``floor``
        together); True when the turn then fits."""
        if not indexes or t.fits:
            return t.fits
        current = sum(t.msgs[i][1] for i in indexes)
        allowance = max(floor, t.target - (t.total - current))
        # Water-filling: results smaller than an equal share keep it whole, the rest share what is left.
        order = sorted(indexes, key=lambda i: (t.msgs[i][1], i))
        left, remaining = allowance, len(order)
        for i in order:
            share = max(0, left // remaining)
            if t.msgs[i][1] > share:
                cut, n = fit_result(self.counter, Message.tool(t.result(i)), share)
                t.put(i, cut, n)
            left -= t.msgs[i][1]
            remaining -= 1
        return t.fits

    def _drop_steps(self, t: _Turn, lay: _Layout) -> bool:
        """Drop whole steps before the newest, oldest first, noting on the first remaining
        assistant message what was dropped; True when the turn then fits."""
        first, last = lay.first, lay.last
        if t.fits or first >= last or last >= len(t.msgs):
            return t.fits
        starts = [i for i in range(first, last) if t.msgs[i][0].role == "assistant"]
        starts.append(last)
        names: Counter[str] = Counter()
        before = [0]  # before[i]: tokens of the messages ahead of message i
        for _, n in t.msgs:
            before.append(before[-1] + n)
        best: tuple[int, int, Rendered] | None = None
        for k in range(len(starts) - 1):
            end = starts[k + 1]
            names.update(call.name for m, _ in t.msgs[starts[k] : end] for call in m.tool_calls)
            noted = with_note(t.msgs[end][0], _dropped_note(k + 1, names))
            n = count_message(self.counter, noted)
            total = t.total - (before[end + 1] - before[first]) + n
            if total < t.total and (best is None or total < best[0]):
                best = total, end, (noted, n)
            if total <= t.target:
                break
        if best is not None:
            total, end, noted_msg = best
            t.msgs = [*t.msgs[:first], noted_msg, *t.msgs[end + 1 :]]
            t.total = total
        return t.fits


class _Layout:
    """Where the parts of a turn are: ``first`` assistant message, ``last`` one with tool calls
    (the newest step; ``len`` when there is none)."""

    def __init__(self, msgs: list[Rendered]) -> None:
        self.roles = [m.role for m, _ in msgs]
        self.first = next((i for i, r in enumerate(self.roles) if r == "assistant"), len(msgs))
        calls = [i for i, (m, _) in enumerate(msgs) if m.role == "assistant" and m.tool_calls]
        self.last = calls[-1] if calls else len(msgs)

    def older(self, role: str) -> list[int]:
        return [i for i in range(self.first, self.last) if self.roles[i] == role]

    def newest(self, role: str) -> list[int]:
        return [i for i in range(self.last, len(self.roles)) if self.roles[i] == role]


def _dropped_note(steps: int, names: Counter[str]) -> str:
    tools = ", ".join(f"{name} ×{n}" for name, n in sorted(names.items()))
    what = f" (tool calls: {tools})" if tools else ""
    return (
        f"[{steps} earlier step{'s' if steps != 1 else ''} of this turn elided to fit the "
        f"context{what}; their results are in the session log]"
    )
