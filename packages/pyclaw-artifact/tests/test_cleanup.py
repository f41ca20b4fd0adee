"""Retention and cleanup: age, byte budget (LRU), pins, references, orphans and temp leftovers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from pyclaw.artifact import FileArtifactStore, RetentionPolicy
from pyclaw.meta import ArtifactRef, format_ts, utcnow


def age(store: FileArtifactStore, ref: ArtifactRef, days: float) -> None:
    """Pretend ``ref`` was last read ``days`` ago."""
    when = format_ts(utcnow() - timedelta(days=days))
    with store.db.transaction() as conn:
        conn.execute(
            "UPDATE artifacts SET last_access_at = ?, created_at = ? WHERE sha256 = ?",
            (when, when, ref.sha256),
        )


def test_max_age_deletes_old_unpinned_unreferenced(store: FileArtifactStore) -> None:
    old = store.put_sync(b"old" * 10)
    pinned = store.put_sync(b"pinned")
    referenced = store.put_sync(b"referenced")
    fresh = store.put_sync(b"fresh")
    for ref in (old, pinned, referenced):
        age(store, ref, days=40)
    store.pin(pinned)
    report = store.cleanup(
        RetentionPolicy(max_age=timedelta(days=30)), referenced={referenced.sha256}
    )
    assert report.deleted == 1
    assert report.bytes_freed == 30
    assert report.deleted_sha256 == (old.sha256,)
    assert not store.exists_sync(old)
    for ref in (pinned, referenced, fresh):
        assert store.get_sync(ref)


def test_byte_budget_evicts_least_recently_used_first(store: FileArtifactStore) -> None:
    refs = [store.put_sync(bytes([i]) * 100) for i in range(5)]
    for i, ref in enumerate(refs):
        age(store, ref, days=10 - i)  # refs[0] is the least recently used
    store.get_sync(refs[0])  # ...until it is read again (touch)
    report = store.cleanup(RetentionPolicy(max_total_bytes=250))
    assert report.deleted_sha256 == (refs[1].sha256, refs[2].sha256, refs[3].sha256)
    assert report.remaining_bytes == 200
    assert report.bytes_freed == 300
    assert {i.sha256 for i in store.list()} == {refs[0].sha256, refs[4].sha256}


def test_nothing_to_do(store: FileArtifactStore) -> None:
    ref = store.put_sync(b"keep me")
    report = store.cleanup(RetentionPolicy(max_age=timedelta(days=1), max_total_bytes=10**9))
    assert (report.deleted, report.orphans_removed, report.tmp_removed) == (0, 0, 0)
    assert store.exists_sync(ref)


def test_orphans_and_tmp_leftovers_respect_grace(store: FileArtifactStore) -> None:
    digest = hashlib.sha256(b"orphan").hexdigest()
    orphan = store.root / digest[:2] / digest[2:4] / digest
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    tmp = store.root / "tmp"
    tmp.mkdir(exist_ok=True)
    (tmp / "dead.part").write_bytes(b"half a file")
    indexed = store.put_sync(b"indexed")

    report = store.cleanup(RetentionPolicy())  # default grace: too recent to touch
    assert (report.orphans_removed, report.tmp_removed) == (0, 0)
    assert orphan.exists()

    report = store.cleanup(RetentionPolicy(), grace=timedelta(0))
    assert (report.deleted, report.orphans_removed, report.tmp_removed) == (0, 1, 1)
    assert not orphan.exists()
    assert not (tmp / "dead.part").exists()
    assert not orphan.parent.exists()  # empty fan-out directories are pruned
    assert store.get_sync(indexed) == b"indexed"
