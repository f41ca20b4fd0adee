"""A process killed in the middle of a migration leaves the previous schema version intact."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pyclaw.storage import Database, Migrations

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pyclaw.storage import Database, Migrations

    notes = Migrations("notes")

    @notes.migration(1, "create notes")
    def _v1(db):
        db.conn.execute("CREATE TABLE notes (text TEXT)")

    @notes.migration(2, "create tags, then die")
    def _v2(db):
        db.conn.execute("CREATE TABLE tags (name TEXT)")
        db.conn.execute("INSERT INTO tags VALUES ('half-done')")
        os._exit(17)  # like kill -9: no rollback, no cleanup

    Database.open(sys.argv[1], migrations=[notes])
    """
)


def test_kill_during_migration(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    v1 = Migrations("notes")

    @v1.migration(1, "create notes")
    def _v1(db: Database) -> None:
        db.conn.execute("CREATE TABLE notes (text TEXT)")

    with Database.open(path, migrations=[v1]) as db:
        db.conn.execute("INSERT INTO notes VALUES ('kept')")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 17, done.stderr
    with Database.open(path, migrations=[v1]) as db:
        assert db.schema_versions() == {"notes": 1, "storage": 1}
        assert "tags" not in db.utils.table_names()
        assert db.conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]
        assert db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
