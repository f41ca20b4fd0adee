"""Fixtures: a fake Bot API on 127.0.0.1, a database, settings aimed at the fake, and a sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyclaw.controlplane_telegram import TelegramChannel, TelegramSettings
from pyclaw.controlplane_telegram.testing import FakeTelegramServer, RecordingSink
from pyclaw.storage import Database

OWNER = 42
"""The user in ``allowed_user_ids`` (their private chat has the same id)."""


@pytest.fixture
def fake() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer() as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "pyclaw.db")
    yield database
    database.close()


@pytest.fixture
def make_settings(fake: FakeTelegramServer) -> Callable[..., TelegramSettings]:
    def make(**overrides: Any) -> TelegramSettings:
        values: dict[str, Any] = {
            "token": fake.token,
            "api_base_url": fake.api_base_url,
            "allowed_user_ids": (OWNER,),
            "poll_timeout": 1,
            "backoff_initial": 0.01,
            "backoff_max": 0.05,
            "connect_timeout": 2.0,
            "request_timeout": 5.0,
            "stream_interval": 0.2,
        }
        values.update(overrides)
        return TelegramSettings(**values)

    return make


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def channel(
    make_settings: Callable[..., TelegramSettings], db: Database, sink: RecordingSink
) -> AsyncIterator[TelegramChannel]:
    tg = TelegramChannel(make_settings(), db)
    await tg.start(sink)
    yield tg
    await tg.stop()
