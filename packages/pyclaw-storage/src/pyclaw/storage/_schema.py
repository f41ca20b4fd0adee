"""The migration ledger (``_pyclaw_migrations``): reading versions, refusing newer schemas, applying steps."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from pyclaw.meta import MigrationError, SchemaTooNewError, format_ts, utcnow
from pyclaw.storage._migrations import Migration, Migrations

if TYPE_CHECKING:
    from pyclaw.storage._database import Database

LEDGER = "_pyclaw_migrations"

_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (component, version)
)
"""


def now_text() -> str:
    """The current UTC time in PyClaw's canonical text form."""
    return format_ts(utcnow())


def _has_ledger(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEDGER,)
    ).fetchone()
    return row is not None


def applied_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """``{component: highest applied version}`` as recorded in the ledger (empty without one)."""
    if not _has_ledger(conn):
        return {}
    rows = conn.execute(
        f"SELECT component, max(version) FROM {LEDGER} GROUP BY component ORDER BY component"
    ).fetchall()
    return {str(component): int(version) for component, version in rows}


def refuse_newer(conn: sqlite3.Connection, label: str, migrations: Migrations) -> None:
    """Raise ``SchemaTooNewError`` when the database is ahead of what this code knows."""
    found = applied_versions(conn).get(migrations.component, 0)
    if found > migrations.latest:
        raise SchemaTooNewError(
            f"{label}: schema {migrations.component!r} is at version {found} but this PyClaw "
            f"supports up to {migrations.latest}; upgrade PyClaw or point PYCLAW_HOME elsewhere"
        )


def ensure_ledger(db: Database) -> None:
    """Create the ledger table if this database has none yet."""
    with db.locked() as conn:
        if not _has_ledger(conn):
            conn.execute(_CREATE_LEDGER)


def apply(db: Database, step: Migration) -> None:
    """Run one step and record it, in one transaction; on failure nothing of it remains."""
    try:
        with db.transaction() as conn:
            step.fn(db)
            conn.execute(
                f"INSERT INTO {LEDGER} (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
                (step.component, step.version, step.name, now_text()),
            )
    except MigrationError:
        raise
    except Exception as exc:
        raise MigrationError(
            f"{db.label}: migration {step.component!r} {step.version} ({step.name}) failed: {exc}; "
            f"the database is still at version {step.version - 1}"
        ) from exc
