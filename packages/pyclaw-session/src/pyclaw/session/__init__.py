"""Append-only, hash-chained session and run log.

``SQLiteSessionLog`` (over a ``pyclaw.storage.Database``) and ``InMemorySessionLog`` implement
``pyclaw.meta.SessionLog``: sessions, their ordered events (each sealed into a sha256 chain over
the exact stored bytes) and their runs. ``pyclaw.session.testing`` holds the conformance suite.
"""

from pyclaw.session._errors import RunExistsError, RunStateError, SessionExistsError
from pyclaw.session._memory import InMemorySessionLog
from pyclaw.session._records import INTERRUPTED
from pyclaw.session._schema import SESSION_MIGRATIONS
from pyclaw.session._sqlite import SQLiteSessionLog

__all__ = [
    "INTERRUPTED",
    "SESSION_MIGRATIONS",
    "InMemorySessionLog",
    "RunExistsError",
    "RunStateError",
    "SQLiteSessionLog",
    "SessionExistsError",
]
