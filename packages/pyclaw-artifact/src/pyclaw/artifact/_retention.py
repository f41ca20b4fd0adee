"""Retention policy and the reports of verification and cleanup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pyclaw.meta import Model


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """What ``cleanup`` may delete: artifacts unused for ``max_age``, and the least recently used
    ones while the store holds more than ``max_total_bytes``. Pinned and referenced artifacts stay."""

    max_age: timedelta | None = None
    max_total_bytes: int | None = None


class CleanupReport(Model):
    """What one ``cleanup`` removed."""

    deleted: int = 0
    bytes_freed: int = 0
    orphans_removed: int = 0
    tmp_removed: int = 0
    deleted_sha256: tuple[str, ...] = ()
    remaining_bytes: int = 0


class VerifyReport(Model):
    """The result of re-hashing every indexed artifact."""

    checked: int = 0
    ok: int = 0
    corrupt: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unindexed: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.corrupt and not self.missing
