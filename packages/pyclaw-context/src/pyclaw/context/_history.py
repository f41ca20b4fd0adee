"""A session's history as units: recorded summaries standing in for their ranges, and raw turns.

A turn starts at a user message and runs to the next one (or to the edge of a summary's range).
Of overlapping summaries the highest level wins, then the newest; the others are ignored.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter
from weakref import WeakKeyDictionary

from pyclaw.context._render import Rendered, Renderer
from pyclaw.meta import Message, SessionEvent, SummaryEvent

_SEQ = attrgetter("seq")
_MESSAGES = attrgetter("messages")
_MESSAGE = itemgetter(0)
TOKENS = attrgetter("tokens")
"""A unit's ``tokens`` (``sum(map(TOKENS, units))`` adds them up without a Python-level loop)."""


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


def unit_messages(units: Iterable[Unit]) -> tuple[Message, ...]:
    """The messages of ``units``, in order (flattened in C: this runs at every build)."""
    return tuple(map(_MESSAGE, chain.from_iterable(map(_MESSAGES, units))))


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
        if isinstance(p := ev.payload, SummaryEvent) and _well_formed(ev, p)
    ]


def _well_formed(event: SessionEvent, summary: SummaryEvent) -> bool:
    return 0 <= summary.first_seq <= summary.last_seq < event.seq


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
    """What walking a growing history needs, found incrementally: its active summaries, where its
    user messages are, and (per renderer) the units of the last walk.

    Session logs only grow by appending, and the hash chain pins every prefix: when the event at
    the previous length still has the same hash, only the events after it are scanned. Otherwise
    (another session, a rewritten history) everything is found again from the start.
    """

    def __init__(self) -> None:
        self._length = 0
        self._tail_hash = ""
        self._found: Found = []
        self._active: Found | None = None
        self.users: list[int] = []
        """Indexes of the ``user_message`` events, in order."""
        self._walks: WeakKeyDictionary[Renderer, _Walk] = WeakKeyDictionary()

    def active(self, history: Sequence[SessionEvent]) -> Found:
        n = len(history)
        start = self._length
        if start == 0 or start > n or history[start - 1].hash != self._tail_hash:
            start, self._found, self._active, self.users = 0, [], None, []
        users, found = self.users, len(self._found)
        for i in range(start, n):  # one pass: this runs over every event of a new history
            ev = history[i]
            kind = (p := ev.payload).kind
            if kind == "user_message":
                users.append(i)
            elif kind == "summary" and isinstance(p, SummaryEvent) and _well_formed(ev, p):
                self._found.append((ev, p))
        if len(self._found) > found:
            self._active = None
        if self._active is None:
            self._active = select_active(self._found)
        self._length, self._tail_hash = n, history[n - 1].hash if n else ""
        return self._active

    def units(self, history: Sequence[SessionEvent], renderer: Renderer) -> list[Unit]:
        """The history as units (see ``history_units``), redoing only what its growth changed."""
        active = self.active(history)
        walk = self._walks.get(renderer)
        if walk is None:
            walk = self._walks[renderer] = _Walk()
        return walk.units(history, renderer, active, self.users)


class _Walk:
    """The units of one growing history for one renderer, kept to be extended.

    Every active summary leaves a mark (units made so far, index of the next event), and the last
    turn is open: events appended later may still join it. A walk over a longer history with the
    same prefix restarts at the open turn when the active summaries are the same, else at the mark
    of the last active summary both share; any other history is walked from the start.
    """

    __slots__ = ("_active", "_length", "_marks", "_open", "_tail_hash", "_units")

    def __init__(self) -> None:
        self._length = 0
        self._tail_hash = ""
        self._active: Found = []
        self._marks: list[tuple[int, int]] = []
        self._units: list[Unit] = []
        self._open = (0, 0)  # (units before the open turn, index of its first event)

    def units(
        self,
        history: Sequence[SessionEvent],
        renderer: Renderer,
        active: Found,
        users: list[int],
    ) -> list[Unit]:
        n, m = len(history), self._length
        if m == 0 or m > n or history[m - 1].hash != self._tail_hash:
            self._active, self._marks, self._units, self._open = [], [], [], (0, 0)
        old, units = self._active, self._units
        same = 0
        while same < min(len(old), len(active)) and old[same][0].hash == active[same][0].hash:
            same += 1
        if same == len(old) == len(active):
            kept, start = self._open
            del units[kept:]
        else:
            kept, pos = self._marks[same - 1] if same else (0, 0)
            del units[kept:], self._marks[same:]
            for ev, s in active[same:]:
                lo = bisect_left(history, s.first_seq, key=_SEQ)
                if lo > pos:
                    units.extend(_turns(history, users, pos, lo, renderer))
                units.append(summary_unit(renderer, s, ev))
                pos = max(pos, bisect_right(history, s.last_seq, key=_SEQ))
                self._marks.append((len(units), pos))
            start = pos
        first, last = bisect_right(users, start), bisect_left(users, n)
        open_at = users[last - 1] if last > first else start
        units.extend(_turns(history, users, start, open_at, renderer))
        self._open = (len(units), open_at)
        units.extend(_turns(history, users, open_at, n, renderer))
        self._active, self._length = list(active), n
        self._tail_hash = history[n - 1].hash if n else ""
        return list(units)


def _turns(
    history: Sequence[SessionEvent],
    users: list[int],
    lo: int,
    hi: int,
    renderer: Renderer,
) -> list[Unit]:
    """The turns of ``history[lo:hi]``: each starts at ``lo`` or at a user message."""
    out: list[Unit] = []
    starts = [lo, *users[bisect_right(users, lo) : bisect_left(users, hi)]]
    for a, b in zip(starts, [*starts[1:], hi], strict=True):
        events = history[a:b]
        messages, tokens = renderer.turn(events)
        if messages:
            out.append(Unit(events[0].seq, events[-1].seq, messages, tokens))
    return out


def history_units(
    history: Sequence[SessionEvent], renderer: Renderer, index: SummaryIndex | None = None
) -> list[Unit]:
    """The history as units in order; only events outside every active summary are rendered.

    With the ``index`` of earlier calls on the same growing history, only what the new events
    change is walked again (the result is the same as without it).
    """
    return (index if index is not None else SummaryIndex()).units(history, renderer)
