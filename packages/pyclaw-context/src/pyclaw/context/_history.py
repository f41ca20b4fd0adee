"""A session's history as units: recorded summaries standing in for their ranges, and raw turns.

A turn starts at a user message and runs to the next one (or to the edge of a summary's range).
Of overlapping summaries the highest level wins, then the newest; the others are ignored.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from pyclaw.context._render import Rendered, Renderer
from pyclaw.meta import SessionEvent, SummaryEvent

_SEQ = attrgetter("seq")


@dataclass(slots=True)
class Unit:
    """One piece of the prompt's history: a summary or a raw turn, with its messages and tokens."""

    first_seq: int
    last_seq: int
    messages: list[Rendered]
    tokens: int
    summary: SummaryEvent | None = None
    new: bool = False
    """A summary made by the current build (not yet in the session log)."""

    @property
    def is_summary(self) -> bool:
        return self.summary is not None

    @property
    def level(self) -> int:
        return -1 if self.summary is None else self.summary.level


def summary_unit(renderer: Renderer, summary: SummaryEvent, event: SessionEvent | None) -> Unit:
    rendered = renderer.summary(event, summary)
    return Unit(
        summary.first_seq, summary.last_seq, [rendered], rendered[1], summary, event is None
    )


Found = list[tuple[SessionEvent, SummaryEvent]]


def find_summaries(events: Sequence[SessionEvent]) -> Found:
    """The well-formed summary events (covering only events before themselves), in order."""
    return [
        (ev, p)
        for ev in events
        if isinstance(p := ev.payload, SummaryEvent) and 0 <= p.first_seq <= p.last_seq < ev.seq
    ]


def select_active(found: Found) -> Found:
    """The summaries that apply, ordered by range: highest level first, then newest, no overlap."""
    ranked = sorted(found, key=lambda pair: (-pair[1].level, -pair[0].seq))
    starts: list[int] = []
    ends: list[int] = []
    chosen: Found = []
    for ev, s in ranked:
        i = bisect_right(starts, s.first_seq)
        if i > 0 and ends[i - 1] >= s.first_seq:
            continue
        if i < len(starts) and starts[i] <= s.last_seq:
            continue
        starts.insert(i, s.first_seq)
        ends.insert(i, s.last_seq)
        chosen.insert(i, (ev, s))
    return chosen


def active_summaries(history: Sequence[SessionEvent]) -> Found:
    return select_active(find_summaries(history))


class SummaryIndex:
    """The active summaries of a growing history, found incrementally.

    Session logs only grow by appending, and the hash chain pins every prefix: when the event at
    the previous length still has the same hash, only the events after it are scanned.
    """

    def __init__(self) -> None:
        self._length = 0
        self._tail_hash = ""
        self._found: Found = []
        self._active: Found | None = None

    def active(self, history: Sequence[SessionEvent]) -> Found:
        n = len(history)
        start = self._length
        if start == 0 or start > n or history[start - 1].hash != self._tail_hash:
            start, self._found, self._active = 0, [], None
        new = find_summaries(history[start:])
        if new:
            self._found.extend(new)
            self._active = None
        if self._active is None:
            self._active = select_active(self._found)
        self._length, self._tail_hash = n, history[n - 1].hash if n else ""
        return self._active


def _turns(
    history: Sequence[SessionEvent], lo: int, hi: int, renderer: Renderer, out: list[Unit]
) -> None:
    start = lo
    for i in range(lo, hi + 1):
        if i < hi and (i == start or history[i].payload.kind != "user_message"):
            continue
        events = history[start:i]
        messages, tokens = renderer.turn(events)
        if messages:
            out.append(Unit(events[0].seq, events[-1].seq, messages, tokens))
        start = i


def history_units(
    history: Sequence[SessionEvent], renderer: Renderer, index: SummaryIndex | None = None
) -> list[Unit]:
    """The history as units in order; only events outside every active summary are rendered."""
    units: list[Unit] = []
    pos = 0
    active = index.active(history) if index is not None else active_summaries(history)
    for ev, s in active:
        lo = bisect_left(history, s.first_seq, key=_SEQ)
        if lo > pos:
            _turns(history, pos, lo, renderer, units)
        units.append(summary_unit(renderer, s, ev))
        pos = max(pos, bisect_right(history, s.last_seq, key=_SEQ))
    _turns(history, pos, len(history), renderer, units)
    return units
