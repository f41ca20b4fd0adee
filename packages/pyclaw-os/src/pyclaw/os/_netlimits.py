"""A TTL cache and a token-bucket rate limiter for tools that call public APIs.

Both take a ``clock`` (seconds, monotonic) so tests can move time by hand.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

Clock = Callable[[], float]


class TTLCache(Generic[V]):
    """Values that expire ``ttl_s`` seconds after they were stored; at most ``max_entries`` kept
    (the least recently stored go first)."""

    def __init__(self, ttl_s: float, *, max_entries: int = 256, clock: Clock = time.monotonic):
        self.ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at >= self.ttl_s:
            del self._items[key]
            return None
        return value

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl_s <= 0:
            return
        self._items.pop(key, None)
        self._items[key] = (self._clock(), value)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity / per_s`` tokens per second."""

    def __init__(self, capacity: int, per_s: float = 60.0, *, clock: Clock = time.monotonic):
        self.capacity = capacity
        self.rate = capacity / per_s
        self._clock = clock
        self._tokens = float(capacity)
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_take(self) -> float:
        """Take a token and return 0, or take nothing and return the seconds until one is free."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate
