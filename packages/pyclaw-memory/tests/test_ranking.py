"""The scoring formula and its settings."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from pyclaw.memory import DEFAULT_KIND_WEIGHTS, Ranking
from pyclaw.memory._ranking import longer_expiry
from pyclaw.memory._sqlite_core import ensure_exp
from pyclaw.meta import UsageError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_recency_halves_the_decaying_share_every_half_life() -> None:
    ranking = Ranking(half_life=timedelta(days=10), recency_weight=0.6)
    assert ranking.recency(NOW, NOW) == pytest.approx(1.0)
    assert ranking.recency(NOW - timedelta(days=10), NOW) == pytest.approx(0.4 + 0.3)
    assert ranking.recency(NOW - timedelta(days=20), NOW) == pytest.approx(0.4 + 0.15)
    assert ranking.recency(NOW - timedelta(days=10_000), NOW) == pytest.approx(0.4)
    assert ranking.recency(NOW + timedelta(days=5), NOW) == pytest.approx(1.0)  # clock skew


def test_score_multiplies_relevance_kind_weight_and_recency() -> None:
    ranking = Ranking(kind_weights={"note": 0.5})
    created = NOW - ranking.half_life
    assert ranking.score(2.0, "note", created, NOW) == pytest.approx(2.0 * 0.5 * 0.75)
    assert ranking.score(2.0, "fact", created, NOW) == pytest.approx(2.0 * 1.0 * 0.75)
    assert Ranking().weight("note") == DEFAULT_KIND_WEIGHTS["note"] < Ranking().weight("fact")


@pytest.mark.parametrize(
    "settings",
    [
        {"half_life": timedelta(0)},
        {"recency_weight": 1.5},
        {"recency_weight": -0.1},
        {"kind_weights": {"fact": 0.0}},
        {"kind_weights": {"fact": math.inf}},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        Ranking(**settings)  # pyright: ignore[reportArgumentType] - deliberately bad values


def test_longer_expiry() -> None:
    later = NOW + timedelta(days=1)
    assert longer_expiry(NOW, later) == later
    assert longer_expiry(later, NOW) == later
    assert longer_expiry(None, NOW) is None
    assert longer_expiry(NOW, None) is None


class _NoMathConnection:
    """Stands in for a connection to a SQLite built without math functions."""

    def __init__(self) -> None:
        self.functions: dict[str, object] = {}

    def execute(self, sql: str) -> None:
        raise sqlite3.OperationalError("no such function: exp")

    def create_function(self, name: str, narg: int, fn: object, *, deterministic: bool) -> None:
        assert narg == 1
        assert deterministic
        self.functions[name] = fn


def test_exp_is_provided_when_sqlite_lacks_it() -> None:
    conn = _NoMathConnection()
    ensure_exp(conn)  # pyright: ignore[reportArgumentType] - a stand-in connection
    assert conn.functions == {"exp": math.exp}
