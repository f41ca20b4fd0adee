"""Migrations: ordering, the ledger, atomic steps, and refusing a schema newer than the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyclaw.meta import AppliedMigration, MigrationError, SchemaTooNewError, StorageError
from pyclaw.storage import LEDGER, Database, Migrations


def make_notes(upto: int = 2, *, fail_at: int | None = None) -> Migrations:
    notes = Migrations("notes")

    @notes.migration(1, "create notes")
    def _v1(db: Database) -> None:
        db.conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    if upto >= 2:

        @notes.migration(2, "add tags")
        def _v2(db: Database) -> None:
            db.conn.execute("ALTER TABLE notes ADD COLUMN tags TEXT")
            db.conn.execute("CREATE TABLE tags (name TEXT PRIMARY KEY)")
            if fail_at == 2:
                raise RuntimeError("disk on fire")

    if upto >= 3:

        @notes.migration(3, "index tags")
        def _v3(db: Database) -> None:
            db.conn.execute("CREATE INDEX notes_tags ON notes (tags)")

    return notes


def columns(db: Database, table: str) -> list[str]:
    return [row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")]


def test_versions_must_be_contiguous() -> None:
    m = Migrations("x")
    with pytest.raises(MigrationError, match="expected version 1"):
        m.migration(2, "too early")
    m.migration(1, "first")(lambda db: None)
    with pytest.raises(MigrationError, match="expected version 2"):
        m.migration(3, "gap")
    with pytest.raises(MigrationError, match="expected version 2"):
        m.migration(1, "again")
    assert m.latest == 1


def test_component_name_is_checked() -> None:
    with pytest.raises(MigrationError, match="invalid migration component"):
        Migrations("Bad Name")


def test_migrate_applies_in_order_and_records(tmp_path: Path) -> None:
    notes = make_notes(2)
    with Database.open(tmp_path / "m.db", migrate=False) as db:
        db.register(notes)
        assert [(m.component, m.version) for m in db.pending()] == [
            ("storage", 1),
            ("notes", 1),
            ("notes", 2),
        ]
        applied = db.migrate()
        assert applied == [
            AppliedMigration(component="storage", version=1, name="create kv"),
            AppliedMigration(component="notes", version=1, name="create notes"),
            AppliedMigration(component="notes", version=2, name="add tags"),
        ]
        assert db.migrate() == []
        assert db.pending() == []
        assert db.schema_versions() == {"notes": 2, "storage": 1}
        assert columns(db, "notes") == ["id", "text", "tags"]
        rows = db.conn.execute(
            f"SELECT component, version, name, applied_at FROM {LEDGER} ORDER BY rowid"
        ).fetchall()
        assert [r[:3] for r in rows] == [
            ("storage", 1, "create kv"),
            ("notes", 1, "create notes"),
            ("notes", 2, "add tags"),
        ]
        assert all(r[3].endswith("+00:00") for r in rows)


def test_open_with_migrations_applies_them(tmp_path: Path) -> None:
    with Database.open(tmp_path / "m.db", migrations=[make_notes(1)]) as db:
        assert db.schema_versions() == {"notes": 1, "storage": 1}
    # a later release adds step 2: reopening upgrades
    with Database.open(tmp_path / "m.db", migrations=[make_notes(3)]) as db:
        assert db.schema_versions() == {"notes": 3, "storage": 1}
        assert "tags" in columns(db, "notes")


def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Database.open(path, migrations=[make_notes(1)]) as db:
        db.conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    with pytest.raises(MigrationError) as info:
        Database.open(path, migrations=[make_notes(2, fail_at=2)])
    message = str(info.value)
    assert "'notes' 2 (add tags) failed: disk on fire" in message
    assert "still at version 1" in message
    with Database.open(path, migrations=[make_notes(1)]) as db:
        assert db.schema_versions()["notes"] == 1
        assert columns(db, "notes") == ["id", "text"]
        assert "tags" not in db.utils.table_names()
        assert db.conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_ensure_registers_and_migrates_one_component(tmp_path: Path) -> None:
    with Database.open(tmp_path / "m.db") as db:
        other = Migrations("other")

        @other.migration(1, "create o")
        def _o(d: Database) -> None:
            d.conn.execute("CREATE TABLE o (x)")

        db.register(other)
        notes = make_notes(1)
        applied = db.ensure(notes)
        assert [(a.component, a.version) for a in applied] == [("notes", 1)]
        assert "other" not in db.schema_versions()
        assert [m.component for m in db.pending()] == ["other"]
        assert db.ensure(notes) == []


def test_registering_a_component_twice_is_refused(tmp_path: Path) -> None:
    with Database.open(tmp_path / "m.db") as db:
        notes = make_notes(1)
        db.register(notes)
        db.register(notes)  # the same object again is fine
        with pytest.raises(StorageError, match="registered twice"):
            db.register(make_notes(1))


def _snapshot(path: Path) -> list[tuple[object, ...]]:
    with Database.open(path, migrate=False) as db:
        return db.conn.execute(f"SELECT * FROM {LEDGER} ORDER BY rowid").fetchall()


def test_schema_too_new_is_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path, migrations=[make_notes(3)]) as db:
        db.conn.execute("DELETE FROM kv")
    before = _snapshot(path)
    with pytest.raises(SchemaTooNewError) as info:
        Database.open(path, migrations=[make_notes(1)])
    assert str(info.value) == (
        f"{path}: schema 'notes' is at version 3 but this PyClaw supports up to 1; "
        "upgrade PyClaw or point PYCLAW_HOME elsewhere"
    )
    assert info.value.exit_code == 3
    assert _snapshot(path) == before


def test_schema_too_new_at_register_and_migrate(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path, migrations=[make_notes(2)]):
        pass
    with Database.open(path) as db:
        with pytest.raises(SchemaTooNewError, match="version 2 but this PyClaw supports up to 1"):
            db.register(make_notes(1))
        assert not db.is_registered("notes")
    # the database advances (another, newer process) after registration: migrate refuses too
    old = make_notes(1)
    path2 = tmp_path / "other.db"
    with Database.open(path2, migrations=[old]) as db:
        db.conn.execute(
            f"INSERT INTO {LEDGER} VALUES ('notes', 2, 'from the future', '2030-01-01T00:00:00+00:00')"
        )
        with pytest.raises(SchemaTooNewError):
            db.migrate()


def test_core_schema_too_new(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.db"
    with Database.open(path) as db:
        db.conn.execute(
            f"INSERT INTO {LEDGER} VALUES ('storage', 9, 'future', '2030-01-01T00:00:00+00:00')"
        )
    with pytest.raises(SchemaTooNewError, match="schema 'storage' is at version 9"):
        Database.open(path)
