"""``GrantsWatcher``: notices, cheaply, that another connection changed the grants table."""

from __future__ import annotations

import sqlite3

from pyclaw.policy._rows import grants_version
from pyclaw.storage import Database


class GrantsWatcher:
    """Tells whether the stored grants moved past the version an engine has loaded.

    For a database file it keeps a private read-only connection: ``PRAGMA data_version`` (a read
    of SQLite's shared-memory WAL index, a few microseconds, busy timeout 0 so it never waits)
    says whether any other connection committed; only then is the grants counter read. WAL
    readers never wait for writers, so this runs inline on the event loop without blocking on the
    database worker. Any SQLite error answers "changed" (the caller re-loads on the worker). An
    in-memory database has no other connection: the counter is read through the shared one.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._counter: int | None = None

    def _connection(self) -> sqlite3.Connection | None:
        path = self._db.path
        if path is None:
            return None
        if self._conn is None:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=0, check_same_thread=False)
            conn.isolation_level = None
            self._conn = conn
        return self._conn

    def stale(self, loaded: int) -> bool:
        """Whether the grants counter differs from ``loaded`` (True when it cannot tell)."""
        try:
            conn = self._connection()
            if conn is None:
                with self._db.locked() as shared:
                    return grants_version(shared) != loaded
            data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if data_version != self._data_version or self._counter != loaded:
                self._counter = grants_version(conn)
                self._data_version = data_version
            return self._counter != loaded
        except sqlite3.Error:
            self._data_version = None
            return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
