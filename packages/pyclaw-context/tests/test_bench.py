"""The timing helper the benchmarks call: it compacts once, then builds without summarizing."""

from __future__ import annotations

import itertools

from pyclaw.context import EstimateCounter, bench_build, synthetic_session


def test_synthetic_session_is_a_valid_chain() -> None:
    events = synthetic_session(60)
    assert len(events) == 60
    assert [e.seq for e in events] == list(range(60))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_bench_build_reports_a_steady_state() -> None:
    result = bench_build(1200, budget_tokens=2000, repeat=3, counter=EstimateCounter())
    assert result.n_events > 1200
    assert result.summaries >= 1
    assert 0 < result.input_tokens <= 2000
    assert result.messages > 0
    assert result.warm_ms > 0
    assert result.counter == "estimate"
