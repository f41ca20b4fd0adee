"""Blocking file primitives on directory descriptors: atomic write, bounded read, tree walk.

Everything here works relative to descriptors obtained from ``_paths.resolve`` and opens with
``O_NOFOLLOW``, so it never leaves the directory it was handed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from pyclaw.meta import ToolError
from pyclaw.os import _paths
from pyclaw.os._blocking import CancelToken

BINARY_SNIFF_BYTES = 8192


def write_atomic_at(dir_fd: int, name: str, data: bytes, *, shown: str) -> None:
    """Replace ``name`` in ``dir_fd`` with ``data``: temp file, fsync, rename, fsync the directory.

    An existing file keeps its permission bits; a symlink at ``name`` is replaced, never
    followed (``rename`` does not follow). Readers see the old bytes or the new, never a part.
    """
    mode = 0o644
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(st.st_mode):
            raise ToolError(f"{shown}: is a directory")
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode)
    tmp = f".{name[:200]}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = _paths.open_at(tmp, flags, dir_fd, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def read_fd(fd: int, *, max_bytes: int, shown: str) -> bytes:
    """All bytes of an open regular file, refusing one larger than ``max_bytes``."""
    size = os.fstat(fd).st_size
    if size > max_bytes:
        raise ToolError(
            f"{shown}: file too large ({size:,} bytes, the limit is {max_bytes:,}); "
            "use grep or exec (head, sed -n) to read parts of it"
        )
    chunks: list[bytes] = []
    total = 0
    while chunk := os.read(fd, 1 << 20):
        total += len(chunk)
        if total > max_bytes:  # it grew while we read
            raise ToolError(f"{shown}: file too large (over {max_bytes:,} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB: the heuristic of grep and git."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


EntryKind = Literal["file", "dir", "link", "other"]


@dataclass(frozen=True)
class Entry:
    """One name met by ``walk_tree``; ``dir_fd`` (valid only while iterating) holds ``name``."""

    rel: str
    name: str
    kind: EntryKind
    dir_fd: int
    depth: int


SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


def walk_tree(
    top_fd: int,
    prefix: str,
    token: CancelToken,
    *,
    descend: Callable[[str, int], bool] | None = None,
    max_depth: int = 64,
) -> Iterator[Entry]:
    """Every name under ``top_fd`` in sorted depth-first order, never following symlinks.

    Symlinks are reported as ``link`` and not entered; directories are opened with
    ``O_NOFOLLOW`` (one swapped for a symlink meanwhile is skipped). ``descend(rel, depth)``
    may prune a directory; version-control directories are not entered.
    """
    yield from _walk(top_fd, prefix, token, descend=descend, depth=0, max_depth=max_depth)


def _walk(
    fd: int,
    prefix: str,
    token: CancelToken,
    *,
    descend: Callable[[str, int], bool] | None,
    depth: int,
    max_depth: int,
) -> Iterator[Entry]:
    token.check()
    with os.scandir(fd) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        token.check()
        rel = prefix + entry.name
        try:
            if entry.is_symlink():
                yield Entry(rel, entry.name, "link", fd, depth)
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file(follow_symlinks=False)
        except OSError:
            continue
        if is_file:
            yield Entry(rel, entry.name, "file", fd, depth)
            continue
        if not is_dir:
            yield Entry(rel, entry.name, "other", fd, depth)
            continue
        yield Entry(rel, entry.name, "dir", fd, depth)
        if entry.name in SKIP_DIRS or depth + 1 >= max_depth:
            continue
        if descend is not None and not descend(rel, depth + 1):
            continue
        try:
            child = _paths.open_at(entry.name, _paths.DIR_FLAGS, fd)
        except OSError:
            continue
        try:
            yield from _walk(
                child, rel + "/", token, descend=descend, depth=depth + 1, max_depth=max_depth
            )
        finally:
            os.close(child)
