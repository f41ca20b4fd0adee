"""The metadata index (component ``artifact``): one row per stored sha256."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pydantic import AwareDatetime, Field

from pyclaw.meta import ArtifactRef, Model
from pyclaw.storage import Database, Migrations

ARTIFACT_MIGRATIONS = Migrations("artifact")
"""Schema of the artifact index; ``FileArtifactStore`` ensures it on construction."""


@ARTIFACT_MIGRATIONS.migration(1, "create artifacts")
def _create_artifacts(db: Database) -> None:
    db.script(
        """
        CREATE TABLE artifacts (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            media_type TEXT NOT NULL,
            name TEXT,
            created_at TEXT NOT NULL,
            last_access_at TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX artifacts_last_access ON artifacts (pinned, last_access_at);
        """
    )


class ArtifactInfo(Model):
    """What the index knows about one stored artifact."""

    sha256: str
    size: int = Field(ge=0)
    media_type: str
    name: str | None = None
    created_at: AwareDatetime
    last_access_at: AwareDatetime
    pinned: bool = False

    @property
    def ref(self) -> ArtifactRef:
        return ArtifactRef(
            sha256=self.sha256, size=self.size, media_type=self.media_type, name=self.name
        )


COLUMNS = "sha256, size, media_type, name, created_at, last_access_at, pinned"


def info_from_row(row: sqlite3.Row | tuple[object, ...]) -> ArtifactInfo:
    sha, size, media_type, name, created_at, last_access_at, pinned = tuple(row)
    return ArtifactInfo(
        sha256=str(sha),
        size=int(str(size)),
        media_type=str(media_type),
        name=None if name is None else str(name),
        created_at=datetime.fromisoformat(str(created_at)),
        last_access_at=datetime.fromisoformat(str(last_access_at)),
        pinned=bool(pinned),
    )


def upsert(conn: sqlite3.Connection, ref: ArtifactRef, now: str) -> None:
    """Index ``ref`` (first media type and name win) and mark it accessed."""
    conn.execute(
        f"INSERT INTO artifacts ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0) "
        "ON CONFLICT(sha256) DO UPDATE SET last_access_at = excluded.last_access_at, "
        "size = excluded.size, name = coalesce(artifacts.name, excluded.name)",
        (ref.sha256, ref.size, ref.media_type, ref.name, now, now),
    )


def remove(db: Database, sha: str) -> bool:
    """Delete the index row of ``sha``; returns whether there was one."""
    with db.transaction() as conn:
        return conn.execute("DELETE FROM artifacts WHERE sha256 = ?", (sha,)).rowcount > 0
