"""Fixtures: a settable clock, an in-memory database, engines over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pyclaw.policy import POLICY_MIGRATIONS, PolicyConfig, SQLitePolicyEngine
from pyclaw.storage import Database


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db() -> Iterator[Database]:
    with Database.open(":memory:", migrations=[POLICY_MIGRATIONS]) as database:
        yield database


EngineFactory = Callable[..., SQLitePolicyEngine]


@pytest.fixture
def make_engine(db: Database, clock: FakeClock) -> Iterator[EngineFactory]:
    engines: list[SQLitePolicyEngine] = []

    def make(config: PolicyConfig | None = None, **data: object) -> SQLitePolicyEngine:
        cfg = config if config is not None else PolicyConfig.model_validate(data)
        engine = SQLitePolicyEngine(db, cfg, clock=clock)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
