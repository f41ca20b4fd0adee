"""The cleanup pass: retention over the index, then orphan and temp files on disk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pyclaw.artifact import _files, _index
from pyclaw.artifact._retention import CleanupReport, RetentionPolicy
from pyclaw.storage import Database


@dataclass(frozen=True, slots=True)
class _Row:
    sha256: str
    size: int
    last_access_at: datetime
    pinned: bool


def _rows(db: Database) -> list[_Row]:
    with db.locked() as conn:
        rows = conn.execute(
            "SELECT sha256, size, last_access_at, pinned FROM artifacts "
            "ORDER BY last_access_at, created_at, sha256"
        ).fetchall()
    return [
        _Row(str(sha), int(size), datetime.fromisoformat(str(ts)), bool(pinned))
        for sha, size, ts, pinned in rows
    ]


def select_victims(
    rows: list[_Row], policy: RetentionPolicy, *, keep: set[str], now: datetime
) -> list[_Row]:
    """Rows the policy deletes: too old, or least recently used while over the byte budget."""
    total = sum(r.size for r in rows)
    cutoff = None if policy.max_age is None else now - policy.max_age
    victims: list[_Row] = []
    for row in rows:  # least recently accessed first
        if row.pinned or row.sha256 in keep:
            continue
        too_old = cutoff is not None and row.last_access_at < cutoff
        too_big = policy.max_total_bytes is not None and total > policy.max_total_bytes
        if too_old or too_big:
            victims.append(row)
            total -= row.size
    return victims


def _stale(paths: Iterator[Path], grace: timedelta) -> Iterator[Path]:
    limit = time.time() - grace.total_seconds()
    for path in paths:
        try:
            if path.stat().st_mtime <= limit:
                yield path
        except FileNotFoundError:
            continue


def run_cleanup(
    root: Path,
    db: Database,
    policy: RetentionPolicy,
    *,
    keep: set[str],
    grace: timedelta,
    now: datetime,
) -> CleanupReport:
    """Apply ``policy`` and remove orphans; the caller holds the store's write lock."""
    rows = _rows(db)
    victims = select_victims(rows, policy, keep=keep, now=now)
    freed = 0
    for row in victims:
        _files.remove(root, row.sha256)
        _index.remove(db, row.sha256)
        freed += row.size
    gone = {v.sha256 for v in victims}
    indexed = {r.sha256 for r in rows} - gone
    orphans = [p for p in _files.stored_files(root) if p.name not in indexed]
    orphans_removed = 0
    for path in _stale(iter(orphans), grace):
        orphans_removed += int(_files.remove(root, path.name))
    tmp = _files.tmp_dir(root)
    tmp_files = [p for p in tmp.iterdir() if p.is_file()] if tmp.is_dir() else []
    tmp_removed = 0
    for path in _stale(iter(tmp_files), grace):
        path.unlink(missing_ok=True)
        tmp_removed += 1
    return CleanupReport(
        deleted=len(victims),
        bytes_freed=freed,
        orphans_removed=orphans_removed,
        tmp_removed=tmp_removed,
        deleted_sha256=tuple(v.sha256 for v in victims),
        remaining_bytes=sum(r.size for r in rows if r.sha256 not in gone),
    )
