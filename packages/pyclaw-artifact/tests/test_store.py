"""FileArtifactStore: layout, dedup, modes, verification on read, crash safety, streaming."""

from __future__ import annotations

import hashlib
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from pyclaw.artifact import ARTIFACT_MIGRATIONS, FileArtifactStore
from pyclaw.meta import (
    ArtifactCorruptError,
    ArtifactNotFoundError,
    ArtifactRef,
    ArtifactStore,
    UsageError,
)
from pyclaw.storage import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_implements_the_protocol_and_migrates(store: FileArtifactStore, db: Database) -> None:
    assert isinstance(store, ArtifactStore)
    assert db.schema_versions()["artifact"] == ARTIFACT_MIGRATIONS.latest


async def test_put_get_roundtrip_and_layout(store: FileArtifactStore) -> None:
    data = b"hello artifact"
    ref = await store.put(data, media_type="text/plain", name="hello.txt")
    assert ref == ArtifactRef(
        sha256=sha(data), size=len(data), media_type="text/plain", name="hello.txt"
    )
    path = store.root / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    assert path.read_bytes() == data
    assert await store.get(ref) == data
    assert await store.get(ref.sha256) == data
    assert await store.get(ref.uri) == data
    assert await store.exists(ref)
    assert not await store.exists("0" * 64)


def test_private_modes(store: FileArtifactStore) -> None:
    ref = store.put_sync(b"secret-ish")
    path = store.file_path(ref)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    assert mode(store.root) == 0o700


def test_same_content_is_stored_once(store: FileArtifactStore) -> None:
    a = store.put_sync(b"same", name="first.txt")
    b = store.put_sync(b"same", name="second.txt")
    assert a.sha256 == b.sha256
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert files == [store.file_path(a)]
    assert len(store.list()) == 1
    assert store.info(a).name == "first.txt"


def test_missing_and_corrupt(store: FileArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError, match="artifact 000000000000… not found"):
        store.get_sync("0" * 64)
    ref = store.put_sync(b"original bytes")
    path = store.file_path(ref)
    path.write_bytes(b"tampered bytes")
    with pytest.raises(ArtifactCorruptError) as info:
        store.get_sync(ref)
    assert str(info.value) == (
        f"artifact {ref.sha256[:12]}… is corrupt: content hash "
        f"{sha(b'tampered bytes')[:12]}… does not match"
    )
    assert store.verify(ref) == "corrupt"
    path.unlink()
    assert store.verify(ref) == "missing"
    with pytest.raises(ArtifactNotFoundError):
        store.get_sync(ref)


def test_put_again_repairs_a_corrupt_copy(store: FileArtifactStore) -> None:
    ref = store.put_sync(b"precious")
    store.file_path(ref).write_bytes(b"rotten!!")
    store.put_sync(b"precious")
    assert store.get_sync(ref) == b"precious"


def test_bad_reference_is_a_usage_error(store: FileArtifactStore) -> None:
    with pytest.raises(UsageError, match="not an artifact reference"):
        store.get_sync("../../etc/passwd")


def test_verify_all(store: FileArtifactStore) -> None:
    good = store.put_sync(b"good")
    bad = store.put_sync(b"bad")
    gone = store.put_sync(b"gone")
    store.file_path(bad).write_bytes(b"BAD")
    store.file_path(gone).unlink()
    stray_sha = sha(b"stray")
    stray = store.root / stray_sha[:2] / stray_sha[2:4] / stray_sha
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"stray")
    report = store.verify_all()
    assert report.checked == 3
    assert report.ok == 1
    assert report.corrupt == (bad.sha256,)
    assert report.missing == (gone.sha256,)
    assert report.unindexed == (stray_sha,)
    assert not report.healthy
    assert store.verify(good) == "ok"


def test_crash_before_rename_leaves_no_final_file(
    store: FileArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.put_sync(b"never published")
    monkeypatch.undo()
    digest = sha(b"never published")
    assert not store.exists_sync(digest)
    assert not (store.root / digest[:2] / digest[2:4] / digest).exists()
    leftovers = list((store.root / "tmp").iterdir())
    assert len(leftovers) == 1  # the staged copy: cleanup removes it
    with pytest.raises(ArtifactNotFoundError):
        store.info(digest)


async def test_put_file_streams(store: FileArtifactStore, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    chunk = os.urandom(1024 * 1024)
    with big.open("wb") as f:
        for i in range(16):
            f.write(bytes([i]) + chunk[1:])
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        ref = await store.put_file(big, media_type="application/x-test")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.sha256 == expected
    assert ref.size == 16 * 1024 * 1024
    assert ref.name == "big.bin"
    assert peak < 4 * 1024 * 1024  # a 16 MiB file, never held whole
    assert store.verify(ref) == "ok"
    assert store.info(ref).media_type == "application/x-test"
    # the same file again is deduplicated, and its staged copy is not left behind
    again = store.put_file_sync(big)
    assert again.sha256 == ref.sha256
    assert list((store.root / "tmp").iterdir()) == []


def test_info_list_pin_unpin_delete(store: FileArtifactStore) -> None:
    a = store.put_sync(b"a", media_type="text/plain", name="a.txt")
    b = store.put_sync(b"b")
    infos = store.list()
    assert {i.sha256 for i in infos} == {a.sha256, b.sha256}
    assert store.list(limit=1)[0].sha256 in {a.sha256, b.sha256}
    info = store.info(a)
    assert (info.size, info.media_type, info.name, info.pinned) == (1, "text/plain", "a.txt", False)
    assert info.ref == a
    assert store.pin(a).pinned is True
    assert store.unpin(a).pinned is False
    with pytest.raises(ArtifactNotFoundError):
        store.pin("f" * 64)
    assert store.delete(a) is True
    assert store.delete(a) is False
    assert not store.exists_sync(a)
    assert [i.sha256 for i in store.list()] == [b.sha256]


def test_index_survives_reopen(tmp_path: Path) -> None:
    with Database.open(tmp_path / "db.sqlite") as db:
        ref = FileArtifactStore(tmp_path / "art", db).put_sync(b"persist", name="p")
    with Database.open(tmp_path / "db.sqlite") as db:
        store = FileArtifactStore(tmp_path / "art", db)
        assert store.info(ref).name == "p"
        assert store.get_sync(ref) == b"persist"
