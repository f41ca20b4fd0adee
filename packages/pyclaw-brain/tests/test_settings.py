"""Settings, the history cache and the package's public shape."""

from __future__ import annotations

import importlib.metadata
import re

import pytest

import pyclaw.brain
from pyclaw.brain import BrainSettings, RunObserver
from pyclaw.brain._history import HistoryCache, SessionHistory
from pyclaw.meta import NoteEvent, SessionEvent, UsageError


def test_settings_defaults_match_the_documented_ones() -> None:
    s = BrainSettings()
    assert (s.loop_threshold, s.max_parallel_tools, s.approval_timeout_s, s.stream) == (
        3,
        8,
        1800.0,
        False,
    )
    assert s.plan_first is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("loop_threshold", 0),
        ("max_parallel_tools", 0),
        ("approval_timeout_s", 0),
        ("observer_timeout_s", -1.0),
        ("history_cache_sessions", 0),
    ],
)
def test_settings_refuse_nonsense(field: str, value: float) -> None:
    with pytest.raises(UsageError, match=field):
        BrainSettings(**{field: value})


def test_settings_are_frozen_and_strict() -> None:
    with pytest.raises(ValueError, match="frozen"):
        BrainSettings().stream = True
    with pytest.raises(ValueError, match="extra"):
        BrainSettings(bogus=1)


def _event(seq: int) -> SessionEvent:
    return SessionEvent.seal(
        session_id="s", seq=seq, payload=NoteEvent(text=str(seq)), prev_hash="0" * 64
    )


def test_history_only_takes_the_next_event() -> None:
    history = SessionHistory()
    assert history.extend([_event(0), _event(1)]) == history.events
    assert history.extend([_event(1), _event(3)]) == []  # a repeat and a gap are ignored
    assert history.last_seq == 1
    assert [e.seq for e in history.extend([_event(2), _event(3)])] == [2, 3]


def test_history_cache_evicts_the_least_recently_used() -> None:
    cache = HistoryCache(2)
    a = cache.get("a")
    cache.get("b")
    assert cache.get("a") is a  # now "b" is the least recently used
    cache.get("c")
    assert len(cache) == 2
    assert cache.get("a") is a
    assert cache.get("b") is not None  # a fresh, empty history
    assert cache.get("b").events == []


def test_public_api() -> None:
    assert set(pyclaw.brain.__all__) == {
        "AgentBrain",
        "BrainSettings",
        "RunObserver",
        "PLAN_NOTE",
        "RESUME_TRIGGER",
        "resumed_from",
    }
    assert isinstance(RunObserver, type)


def test_brain_depends_on_pyclaw_meta_alone() -> None:
    """Architecture rule: the brain is handed its collaborators as protocol-typed objects."""
    names = []
    for req in importlib.metadata.requires("pyclaw-brain") or []:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        assert match is not None
        names.append(match.group(1).lower())
    assert names == ["pyclaw-meta"]
