"""Opening PyClaw's stores for a home: the database with every component's migrations, the
artifact store, the session log and the secret store. Used by the CLI (and later the daemon)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

from pyclaw.artifact import ARTIFACT_MIGRATIONS, FileArtifactStore
from pyclaw.controlplane_telegram import TELEGRAM_MIGRATIONS
from pyclaw.memory import MEMORY_MIGRATIONS
from pyclaw.meta import Redactor
from pyclaw.policy import POLICY_MIGRATIONS
from pyclaw.runtime._cron_schema import CRON_MIGRATIONS
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._inbox import DAEMON_MIGRATIONS
from pyclaw.secret import DefaultSecretStore
from pyclaw.session import SESSION_MIGRATIONS, SQLiteSessionLog
from pyclaw.storage import Database, Migrations

COMPONENT_MIGRATIONS: tuple[Migrations, ...] = (
    ARTIFACT_MIGRATIONS,
    SESSION_MIGRATIONS,
    MEMORY_MIGRATIONS,
    POLICY_MIGRATIONS,
    CRON_MIGRATIONS,
    DAEMON_MIGRATIONS,
    TELEGRAM_MIGRATIONS,
)


def open_database(home: PyClawHome, *, migrate: bool = True) -> Database:
    """Open ``home``'s database with every component registered (and migrated, by default).

    Raises ``SchemaTooNewError`` (exit 3) without touching the file when a newer PyClaw wrote it.
    """
    home.ensure_layout()
    return Database.open(home.db_path, migrations=COMPONENT_MIGRATIONS, migrate=migrate)


def secret_store(home: PyClawHome) -> DefaultSecretStore:
    """The secret store of ``home`` (its own keyring service unless it is the default home)."""
    return DefaultSecretStore(home.root, service=home.keyring_service)


@dataclass
class Services:
    """The open stores of one home."""

    home: PyClawHome
    db: Database
    artifacts: FileArtifactStore
    sessions: SQLiteSessionLog


@contextmanager
def open_services(home: PyClawHome, *, redactor: Redactor | None = None) -> Generator[Services]:
    """Open (and migrate) the database, then the artifact store and session log on it.

    With ``redactor``, every event payload is redacted before it is written.
    """
    db = open_database(home)
    try:
        artifacts = FileArtifactStore(home.artifacts_dir, db)
        sessions = SQLiteSessionLog(db, artifacts=artifacts, redactor=redactor)
        yield Services(home, db, artifacts, sessions)
    finally:
        db.close()
