"""How a search hit is scored: relevance × kind weight × recency."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import get_args

from pyclaw.meta import MemoryKind, UsageError

KINDS: tuple[MemoryKind, ...] = get_args(MemoryKind)

DEFAULT_KIND_WEIGHTS: Mapping[MemoryKind, float] = MappingProxyType(
    {"fact": 1.0, "procedure": 1.0, "note": 0.8}
)
"""Facts and procedures are durable knowledge; notes are often situational, so they rank a bit lower."""


def _default_weights() -> Mapping[MemoryKind, float]:
    return DEFAULT_KIND_WEIGHTS


@dataclass(frozen=True, slots=True)
class Ranking:
    """The scoring settings of a memory store.

    A hit's score is ``relevance * kind_weight * recency`` where ``recency`` is
    ``(1 - recency_weight) + recency_weight * 0.5 ** (age / half_life)``: it starts at 1 for a new
    memory and decays towards ``1 - recency_weight``, so an old but very relevant memory still
    surfaces while, at equal relevance, the newer one wins. ``recency_weight=0`` turns recency off.
    Kinds missing from ``kind_weights`` weigh 1.
    """

    half_life: timedelta = timedelta(days=30)
    recency_weight: float = 0.5
    kind_weights: Mapping[MemoryKind, float] = field(default_factory=_default_weights)

    def __post_init__(self) -> None:
        if self.half_life <= timedelta(0):
            raise UsageError("half_life must be positive")
        if not 0.0 <= self.recency_weight <= 1.0:
            raise UsageError("recency_weight must be between 0 and 1")
        if any(not (w > 0.0 and math.isfinite(w)) for w in self.kind_weights.values()):
            raise UsageError("kind weights must be positive numbers")

    def weight(self, kind: MemoryKind) -> float:
        """The weight of ``kind``."""
        return self.kind_weights.get(kind, 1.0)

    @property
    def decay_rate(self) -> float:
        """The exponent's factor per second of age: ``-ln 2 / half_life``."""
        return -math.log(2.0) / self.half_life.total_seconds()

    def recency(self, created_at: datetime, now: datetime) -> float:
        """The recency factor of a memory created at ``created_at`` (a future time counts as now)."""
        age = max(0.0, (now - created_at).total_seconds())
        return (1.0 - self.recency_weight) + self.recency_weight * math.exp(self.decay_rate * age)

    def score(
        self, relevance: float, kind: MemoryKind, created_at: datetime, now: datetime
    ) -> float:
        """The blended score of a hit (higher is better)."""
        return relevance * self.weight(kind) * self.recency(created_at, now)


def longer_expiry(current: datetime | None, other: datetime | None) -> datetime | None:
    """The later of two expiries, where ``None`` (never) is the latest of all."""
    if current is None or other is None:
        return None
    return max(current, other)
