"""PyClaw's SQLite storage engine: WAL, explicit transactions, ordered migrations, a serialized worker.

``Database.open(path, migrations=[...])`` opens (or creates) a private SQLite file, refuses a schema
newer than the code, applies each component's pending migrations atomically, and exposes the raw
connection (``conn``), a ``sqlite_utils.Database`` (``utils``) and ``await db.run(fn, *args)`` for
async callers.
"""

from pyclaw.storage._core import CORE_MIGRATIONS
from pyclaw.storage._database import Database
from pyclaw.storage._migrations import Migration, MigrationFn, Migrations
from pyclaw.storage._schema import LEDGER
from pyclaw.storage._script import split_script

__all__ = [
    "CORE_MIGRATIONS",
    "LEDGER",
    "Database",
    "Migration",
    "MigrationFn",
    "Migrations",
    "split_script",
]
