"""PyClaw's own core schema (component ``storage``): the shared key/value table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyclaw.storage._migrations import Migrations

if TYPE_CHECKING:
    from pyclaw.storage._database import Database

CORE_MIGRATIONS = Migrations("storage")
"""Always registered first by ``Database.open``."""


@CORE_MIGRATIONS.migration(1, "create kv")
def _create_kv(db: Database) -> None:
    db.conn.execute(
        """
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
