"""Aggregating replica answers: ``majority``, ``first`` or ``all``, done here so the outcome is
reproducible from the recorded replicas whatever the router itself concluded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pyclaw.meta import AggregationPolicy

_TRAILING = ".!?。 \t\n"


def answer_key(text: str) -> str:
    """What two answers must share to count as the same: case, runs of whitespace and trailing
    punctuation do not matter."""
    return " ".join(text.casefold().split()).rstrip(_TRAILING)


@dataclass(frozen=True)
class Aggregate:
    """The chosen ``answer``; ``agrees[i]`` whether replica ``i`` gave it; ``distinct`` how many
    different answers there were."""

    answer: str
    agreeing: int
    agrees: tuple[bool, ...]
    distinct: int

    @property
    def voters(self) -> int:
        return sum(1 for _ in self.agrees)


def aggregate_answers(texts: Sequence[str], policy: AggregationPolicy) -> Aggregate:
    """Aggregate ``texts`` (one per replica; empty ones do not vote) under ``policy``.

    ``majority``: the most common answer (a tie goes to the one that came first). ``first``: the
    first non-empty answer. ``all``: the single answer when they all agree, else every distinct
    answer on its own line as ``(votes/voters) answer``, most votes first. Raises ``ValueError``
    when no replica gave a non-empty answer.
    """
    keys = [answer_key(t) if t.strip() else None for t in texts]
    votes = Counter(k for k in keys if k is not None)
    if not votes:
        raise ValueError("no replica gave an answer")
    order = list(dict.fromkeys(k for k in keys if k is not None))
    if policy == "first":
        chosen = order[0]
    else:
        chosen = max(order, key=lambda k: (votes[k], -order.index(k)))
    originals = {k: texts[keys.index(k)].strip() for k in order}
    answer = originals[chosen]
    if policy == "all" and len(order) > 1:
        voters = sum(votes.values())
        ranked = sorted(order, key=lambda k: (-votes[k], order.index(k)))
        answer = "\n".join(f"({votes[k]}/{voters}) {originals[k]}" for k in ranked)
    agrees = tuple(k == chosen for k in keys)
    return Aggregate(answer, votes[chosen], agrees, len(order))
