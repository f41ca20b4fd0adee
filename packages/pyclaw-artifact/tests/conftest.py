from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyclaw.artifact import FileArtifactStore
from pyclaw.storage import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "pyclaw.db")
    yield database
    database.close()


@pytest.fixture
def store(tmp_path: Path, db: Database) -> FileArtifactStore:
    return FileArtifactStore(tmp_path / "artifacts", db)
