"""Opening the SQLite connection: private file modes, pragmas, and a clear error for non-databases."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pyclaw.meta import StorageError

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 5000


def _create_private_file(path: Path) -> None:
    """Create missing parent directories (0700) and an empty database file (0600) if missing.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they are private too.
    """
    missing: list[Path] = []
    directory = path.parent
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def connect(path: Path | None) -> sqlite3.Connection:
    """Open ``path`` (``None`` = in memory) with PyClaw's pragmas, or raise ``StorageError``."""
    where = MEMORY if path is None else str(path)
    if path is not None:
        if path.is_dir():
            raise StorageError(f"{path}: is a directory, not a database file")
        try:
            _create_private_file(path)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create the database file: {exc.strerror}") from exc
    try:
        conn = sqlite3.connect(
            where,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise StorageError(f"{where}: cannot open the database: {exc}") from exc
    try:
        # The first real read fails on a file that is not a database.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if path is not None:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise StorageError(
                f"{where}: not a SQLite database (or it is corrupt)",
                hint="point PYCLAW_HOME at a fresh directory or move the file aside",
            ) from exc
        raise StorageError(f"{where}: cannot open the database: {exc}") from exc
    return conn
