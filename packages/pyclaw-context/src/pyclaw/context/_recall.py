"""``RecallCache``: a turn's memory search, reused by the turn's later model calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pyclaw.meta import MemoryHit, MemoryStore, SessionEvent

RECALL_REUSE_S = 30.0
"""How long one turn's memory hits are reused before the store is searched again."""

_MAX_ENTRIES = 64

RecallKey = tuple[str, str, str | None]
"""Agent, query, and the id of the user message that started the turn."""


def turn_of(history: Sequence[SessionEvent]) -> str | None:
    """The id of the last ``user_message`` event in ``history``: it names the current turn."""
    for event in reversed(history):
        if event.payload.kind == "user_message":
            return event.id
    return None


class RecallCache:
    """Memory hits by (agent, query, turn), each kept for ``reuse_s`` seconds.

    Every model call of a turn builds its prompt with the same query, so the turn's first search
    serves the others; a new turn (a new user message, even with the same text), another query,
    another agent or another store searches again, and so does the same turn once ``reuse_s`` has
    passed (a long mission sees memories added meanwhile). Failed searches are not kept.
    """

    def __init__(
        self, reuse_s: float = RECALL_REUSE_S, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.reuse_s = reuse_s
        self._clock = clock
        self._entries: dict[RecallKey, tuple[MemoryStore, float, list[MemoryHit]]] = {}

    def get(self, store: MemoryStore, key: RecallKey) -> list[MemoryHit] | None:
        """The hits kept for ``key`` from ``store``, unless too old."""
        entry = self._entries.get(key)
        if entry is None or entry[0] is not store or self._clock() - entry[1] >= self.reuse_s:
            return None
        return list(entry[2])

    def put(self, store: MemoryStore, key: RecallKey, hits: Sequence[MemoryHit]) -> None:
        now = self._clock()
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries = {k: e for k, e in self._entries.items() if now - e[1] < self.reuse_s}
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (store, now, list(hits))
