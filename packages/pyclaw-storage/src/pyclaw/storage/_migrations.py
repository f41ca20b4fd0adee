"""Ordered, numbered schema migrations of one component (``session``, ``artifact``…)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyclaw.meta import MigrationError

if TYPE_CHECKING:
    from pyclaw.storage._database import Database

MigrationFn = Callable[["Database"], None]
"""A migration step: it receives the open ``Database`` (inside a transaction) and changes the schema."""

_COMPONENT = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered step of a component's schema."""

    component: str
    version: int
    name: str
    fn: MigrationFn


class Migrations:
    """The registry of one component's migrations, numbered 1..n without gaps.

    ::

        SESSION_MIGRATIONS = Migrations("session")

        @SESSION_MIGRATIONS.migration(1, "create events")
        def _create_events(db: Database) -> None:
            db.conn.execute("CREATE TABLE events (...)")

    A migration runs inside a transaction together with the row that records it, so it must not
    commit on its own (use ``db.conn.execute``, ``db.script`` or ``db.utils``; never
    ``conn.executescript``, which commits first).
    """

    def __init__(self, component: str) -> None:
        if not _COMPONENT.fullmatch(component):
            raise MigrationError(
                f"invalid migration component name {component!r}: use lowercase letters, digits, '_', '.', '-'"
            )
        self.component = component
        self._steps: list[Migration] = []

    def migration(self, version: int, name: str) -> Callable[[MigrationFn], MigrationFn]:
        """Decorator registering ``fn`` as step ``version``; versions must come as 1, 2, 3…"""
        expected = len(self._steps) + 1
        if version != expected:
            raise MigrationError(
                f"migration {self.component!r} {version} ({name!r}) registered out of order: "
                f"expected version {expected}"
            )

        def register(fn: MigrationFn) -> MigrationFn:
            self._steps.append(Migration(self.component, version, name, fn))
            return fn

        return register

    @property
    def latest(self) -> int:
        """The highest version this code knows (0 when there are no steps)."""
        return len(self._steps)

    def after(self, version: int) -> list[Migration]:
        """The steps above ``version``, in order."""
        return self._steps[version:]

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"Migrations({self.component!r}, latest={self.latest})"
