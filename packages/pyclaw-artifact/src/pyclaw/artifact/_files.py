"""On-disk layout and crash-safe writes: ``root/<sha[:2]>/<sha[2:4]>/<sha>``, staged in ``root/tmp``."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pyclaw.meta import ArtifactRef, UsageError

CHUNK = 1024 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700
_SHA = re.compile(r"^[0-9a-f]{64}$")
_URI_PREFIX = "artifact:sha256:"


def sha_of(ref: ArtifactRef | str) -> str:
    """The sha256 named by an ``ArtifactRef``, a bare hex digest or an ``artifact:sha256:`` URI."""
    if isinstance(ref, ArtifactRef):
        return ref.sha256
    text = ref.removeprefix(_URI_PREFIX).strip().lower()
    if not _SHA.fullmatch(text):
        raise UsageError(f"not an artifact reference: {ref!r} (expected a sha256 hex digest)")
    return text


def short(sha: str) -> str:
    """The first 12 hex digits and an ellipsis, for messages."""
    return f"{sha[:12]}…"


def make_dir(path: Path) -> None:
    """Create ``path`` and its missing parents, each with mode 0700."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)


def final_path(root: Path, sha: str) -> Path:
    return root / sha[:2] / sha[2:4] / sha


def tmp_dir(root: Path) -> Path:
    return root / "tmp"


def open_tmp(root: Path) -> tuple[Path, BinaryIO]:
    """A new private file under ``root/tmp`` opened for writing."""
    directory = tmp_dir(root)
    make_dir(directory)
    path = directory / f"{secrets.token_hex(8)}.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return path, os.fdopen(fd, "wb")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path) -> None:
    """Atomically move a fully written, fsynced temp file to its final name."""
    make_dir(final.parent)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def write_staged(root: Path, data: bytes) -> Path:
    """Write ``data`` to a fsynced temp file and return its path (not yet published)."""
    path, out = open_tmp(root)
    try:
        with out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def copy_staged(root: Path, source: BinaryIO) -> tuple[Path, str, int]:
    """Stream ``source`` into a fsynced temp file, hashing on the way; returns (path, sha, size)."""
    digest = hashlib.sha256()
    size = 0
    path, out = open_tmp(root)
    try:
        with out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def hash_file(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stored_files(root: Path) -> Iterator[Path]:
    """Every file under the two-level fan-out directories (not ``tmp``)."""
    for first in root.iterdir() if root.exists() else ():
        if not first.is_dir() or len(first.name) != 2:
            continue
        for second in first.iterdir():
            if second.is_dir():
                yield from (p for p in second.iterdir() if p.is_file())


def remove(root: Path, sha: str) -> bool:
    """Unlink a stored file and prune its now-empty fan-out directories; returns whether it existed."""
    path = final_path(root, sha)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    for directory in (path.parent, path.parent.parent):
        try:
            directory.rmdir()
        except OSError:
            break
    return True
