"""``FileArtifactStore``: content-addressed files on disk plus their metadata index in SQLite."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import threading
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pyclaw.artifact import _files, _index
from pyclaw.artifact._cleanup import run_cleanup
from pyclaw.artifact._index import ArtifactInfo
from pyclaw.artifact._retention import CleanupReport, RetentionPolicy, VerifyReport
from pyclaw.meta import (
    ArtifactCorruptError,
    ArtifactNotFoundError,
    ArtifactRef,
    format_ts,
    utcnow,
)
from pyclaw.storage import Database

ArtifactStatus = Literal["ok", "missing", "corrupt"]
_TOUCH_EVERY = timedelta(seconds=60)


class FileArtifactStore:
    """Bytes named by their sha256 under ``root``, indexed in ``db`` (implements ``ArtifactStore``).

    Files live at ``root/<sha[:2]>/<sha[2:4]>/<sha>`` (mode 0600, directories 0700). A write goes to
    ``root/tmp`` first, is fsynced, then renamed into place, so a crash never leaves a partial file
    under a final name. The same content is stored once. Reads re-hash the bytes and raise
    ``ArtifactCorruptError`` if they changed. The async methods run the blocking work in a thread;
    every ``*_sync`` twin and the maintenance methods (``verify_all``, ``cleanup``…) are blocking.
    """

    def __init__(self, root: Path, db: Database) -> None:
        self.root = Path(root).expanduser()
        self.db = db
        self._lock = threading.Lock()  # publish/index vs delete/cleanup, within this process
        _files.make_dir(self.root)
        db.ensure(_index.ARTIFACT_MIGRATIONS)

    # -- the ArtifactStore protocol -------------------------------------------------------------

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        """Store ``data`` (once per content) and return its reference."""
        return await asyncio.to_thread(self.put_sync, data, media_type=media_type, name=name)

    async def get(self, ref: ArtifactRef | str) -> bytes:
        """The verified bytes of ``ref``."""
        return await asyncio.to_thread(self.get_sync, ref)

    async def exists(self, ref: ArtifactRef | str) -> bool:
        return await asyncio.to_thread(self.exists_sync, ref)

    async def put_file(
        self,
        path: Path,
        *,
        media_type: str = "application/octet-stream",
        name: str | None = None,
    ) -> ArtifactRef:
        """Store a file's content, streaming it (never whole in memory)."""
        return await asyncio.to_thread(self.put_file_sync, path, media_type=media_type, name=name)

    # -- blocking twins ---------------------------------------------------------------------------

    def put_sync(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        sha = hashlib.sha256(data).hexdigest()
        ref = ArtifactRef(sha256=sha, size=len(data), media_type=media_type, name=name)
        with self._lock:
            if self._intact(sha):
                self._index(ref)
                return ref
        staged = _files.write_staged(self.root, data)
        self._publish(staged, ref)
        return ref

    def put_file_sync(
        self,
        path: Path,
        *,
        media_type: str = "application/octet-stream",
        name: str | None = None,
    ) -> ArtifactRef:
        source = Path(path)
        with source.open("rb") as f:
            staged, sha, size = _files.copy_staged(self.root, f)
        ref = ArtifactRef(
            sha256=sha, size=size, media_type=media_type, name=source.name if name is None else name
        )
        self._publish(staged, ref)
        return ref

    def get_sync(self, ref: ArtifactRef | str) -> bytes:
        sha = _files.sha_of(ref)
        try:
            data = _files.final_path(self.root, sha).read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"artifact {_files.short(sha)} not found") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ArtifactCorruptError(
                f"artifact {_files.short(sha)} is corrupt: content hash {_files.short(actual)} does not match"
            )
        self._touch(sha)
        return data

    def exists_sync(self, ref: ArtifactRef | str) -> bool:
        return _files.final_path(self.root, _files.sha_of(ref)).is_file()

    def file_path(self, ref: ArtifactRef | str) -> Path:
        """Where the bytes of ``ref`` live (for streaming reads); not re-verified."""
        sha = _files.sha_of(ref)
        path = _files.final_path(self.root, sha)
        if not path.is_file():
            raise ArtifactNotFoundError(f"artifact {_files.short(sha)} not found")
        return path

    # -- metadata and maintenance ---------------------------------------------------------------

    def info(self, ref: ArtifactRef | str) -> ArtifactInfo:
        """The index row of ``ref``; ``ArtifactNotFoundError`` when it is not indexed."""
        sha = _files.sha_of(ref)
        with self.db.locked() as conn:
            row = conn.execute(
                f"SELECT {_index.COLUMNS} FROM artifacts WHERE sha256 = ?", (sha,)
            ).fetchone()
        if row is None:
            raise ArtifactNotFoundError(f"artifact {_files.short(sha)} not found")
        return _index.info_from_row(row)

    def list(self, *, limit: int | None = None) -> builtins.list[ArtifactInfo]:
        """Indexed artifacts, most recently created first."""
        sql = f"SELECT {_index.COLUMNS} FROM artifacts ORDER BY created_at DESC, sha256"
        with self.db.locked() as conn:
            rows = conn.execute(sql + " LIMIT ?", (-1 if limit is None else limit,)).fetchall()
        return [_index.info_from_row(row) for row in rows]

    def pin(self, ref: ArtifactRef | str) -> ArtifactInfo:
        """Protect ``ref`` from ``cleanup``."""
        return self._set_pinned(ref, pinned=True)

    def unpin(self, ref: ArtifactRef | str) -> ArtifactInfo:
        return self._set_pinned(ref, pinned=False)

    def delete(self, ref: ArtifactRef | str) -> bool:
        """Remove the file and its index row (even if pinned); returns whether anything existed."""
        sha = _files.sha_of(ref)
        with self._lock:
            return self._remove(sha)

    def verify(self, ref: ArtifactRef | str) -> ArtifactStatus:
        """Re-hash one artifact: ``"ok"``, ``"missing"`` or ``"corrupt"``."""
        sha = _files.sha_of(ref)
        try:
            actual = _files.hash_file(_files.final_path(self.root, sha))
        except FileNotFoundError:
            return "missing"
        return "ok" if actual == sha else "corrupt"

    def verify_all(self) -> VerifyReport:
        """Re-hash every indexed artifact; also lists stored files the index does not know."""
        with self.db.locked() as conn:
            indexed = [str(r[0]) for r in conn.execute("SELECT sha256 FROM artifacts ORDER BY 1")]
        corrupt: builtins.list[str] = []
        missing: builtins.list[str] = []
        for sha in indexed:
            status = self.verify(sha)
            if status == "corrupt":
                corrupt.append(sha)
            elif status == "missing":
                missing.append(sha)
        known = set(indexed)
        unindexed = sorted(p.name for p in _files.stored_files(self.root) if p.name not in known)
        return VerifyReport(
            checked=len(indexed),
            ok=len(indexed) - len(corrupt) - len(missing),
            corrupt=tuple(corrupt),
            missing=tuple(missing),
            unindexed=tuple(unindexed),
        )

    def cleanup(
        self,
        policy: RetentionPolicy,
        *,
        referenced: Collection[ArtifactRef | str] = (),
        grace: timedelta = timedelta(minutes=10),
        now: datetime | None = None,
    ) -> CleanupReport:
        """Delete unpinned, unreferenced artifacts the policy rejects (least recently used first),
        plus orphan files and leftover temp files older than ``grace``."""
        keep = {_files.sha_of(r) for r in referenced}
        with self._lock:
            return run_cleanup(
                self.root, self.db, policy, keep=keep, grace=grace, now=now or utcnow()
            )

    # -- internals ------------------------------------------------------------------------------

    def _intact(self, sha: str) -> bool:
        try:
            return _files.hash_file(_files.final_path(self.root, sha)) == sha
        except FileNotFoundError:
            return False

    def _publish(self, staged: Path, ref: ArtifactRef) -> None:
        with self._lock:
            if self._intact(ref.sha256):
                staged.unlink(missing_ok=True)
            else:
                _files.publish(staged, _files.final_path(self.root, ref.sha256))
            self._index(ref)

    def _index(self, ref: ArtifactRef) -> None:
        with self.db.transaction() as conn:
            _index.upsert(conn, ref, format_ts(utcnow()))

    def _touch(self, sha: str) -> None:
        now = utcnow()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE artifacts SET last_access_at = ? WHERE sha256 = ? AND last_access_at < ?",
                (format_ts(now), sha, format_ts(now - _TOUCH_EVERY)),
            )

    def _set_pinned(self, ref: ArtifactRef | str, *, pinned: bool) -> ArtifactInfo:
        sha = _files.sha_of(ref)
        with self.db.transaction() as conn:
            conn.execute("UPDATE artifacts SET pinned = ? WHERE sha256 = ?", (int(pinned), sha))
        return self.info(sha)

    def _remove(self, sha: str) -> bool:
        return _files.remove(self.root, sha) | _index.remove(self.db, sha)
