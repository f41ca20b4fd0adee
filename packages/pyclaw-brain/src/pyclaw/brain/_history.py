"""Each session's events kept in memory and extended incrementally from the session log."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from pyclaw.meta import SessionEvent


class SessionHistory:
    """The events of one session in ``seq`` order, as far as the brain has read them.

    Only the event following the last one is ever added, so adding the same events twice (an
    append's return value and a later read) is harmless and a gap is filled by the next read.
    """

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else -1

    def extend(self, events: Iterable[SessionEvent]) -> list[SessionEvent]:
        """Add the events that continue the history; returns those that were added."""
        added: list[SessionEvent] = []
        for event in events:
            if event.seq == self.last_seq + 1:
                self.events.append(event)
                added.append(event)
        return added


class HistoryCache:
    """The most recently used sessions' histories (least recently used evicted first)."""

    def __init__(self, max_sessions: int) -> None:
        self._max = max_sessions
        self._items: OrderedDict[str, SessionHistory] = OrderedDict()

    def get(self, session_id: str) -> SessionHistory:
        history = self._items.get(session_id)
        if history is None:
            history = self._items[session_id] = SessionHistory()
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(session_id)
        return history

    def __len__(self) -> int:
        return len(self._items)
