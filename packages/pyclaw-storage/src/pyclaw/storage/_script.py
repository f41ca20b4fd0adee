"""Splitting a SQL script into statements, so it can run inside a transaction.

``sqlite3.Connection.executescript`` commits any open transaction first, which would break the
"one migration = one transaction" rule; ``split_script`` lets ``Database.script`` run statement by
statement instead (trigger bodies with inner ``;`` stay whole).
"""

from __future__ import annotations

import sqlite3


def split_script(sql: str) -> list[str]:
    """The complete statements of ``sql``, in order; raises ``ValueError`` on a trailing fragment."""
    statements: list[str] = []
    buffer = ""
    pieces = sql.split(";")
    for piece in pieces[:-1]:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement.rstrip(";").strip():
                statements.append(statement)
            buffer = ""
    buffer += pieces[-1]
    if _strip_comments(buffer).strip():
        raise ValueError(
            f"incomplete SQL statement at the end of the script: {buffer.strip()[:60]!r}"
        )
    return statements


def _strip_comments(text: str) -> str:
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return "\n".join(lines)
