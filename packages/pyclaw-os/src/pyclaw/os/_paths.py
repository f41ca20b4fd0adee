"""Workspace confinement: the only way the file tools reach a file.

A user-given path is split into components and opened one component at a time from a descriptor
on the workspace root (an ``openat``-style walk with ``O_NOFOLLOW`` at every step). The check and
the use are the same file descriptor, so a symlink swapped in between cannot redirect the
operation (no time-of-check/time-of-use gap).

Rules:

- the path is relative: no leading ``/`` and no ``~``; no NUL byte; no ``..`` component;
- symlinks *inside* the workspace are followed by splicing their target into the rest of the path
  and walking it again under the same rules: a relative target may climb with ``..`` as long as it
  never goes above the workspace root, an absolute target must point under the workspace; any
  other symlink, or more than ``MAX_SYMLINKS`` in one path, is refused with ``PathEscapeError``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyclaw.meta import ToolError
from pyclaw.os._errors import PathEscapeError

MAX_SYMLINKS = 40
"""How many symlinks one path may pass through (Linux's own limit)."""

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block

Want = Literal["file", "dir", "parent"]


def open_at(name: str, flags: int, dir_fd: int, mode: int = 0o777) -> int:
    """``os.open`` relative to a directory descriptor: the one primitive the file tools open with."""
    return os.open(name, flags, mode, dir_fd=dir_fd)


def split_user_path(path: str) -> list[str]:
    """The components of a workspace-relative path; refuses absolute, ``~``, NUL and ``..``."""
    if "\x00" in path:
        raise PathEscapeError(f"path {path!r} contains a NUL byte")
    if path.startswith("/"):
        raise PathEscapeError(
            f"absolute path {path!r} refused: give a path relative to the workspace"
        )
    if path.startswith("~"):
        raise PathEscapeError(f"path {path!r} refused: '~' is not expanded inside the workspace")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(f"path {path!r} refused: '..' is not allowed in workspace paths")
    return parts


@dataclass(frozen=True)
class Workspace:
    """The agent's sandbox directory (its real path, symlinks of the root itself resolved)."""

    root: Path
    given: Path

    @classmethod
    def at(cls, path: Path) -> Workspace:
        real = Path(os.path.realpath(path))
        if not real.is_dir():
            raise ToolError(f"the workspace directory {str(path)!r} does not exist")
        return cls(root=real, given=Path(os.path.abspath(path)))

    def open_root(self) -> int:
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def relative_target(self, target: str) -> str | None:
        """An absolute symlink target as a path under the root, or None when it lies outside."""
        for prefix in {str(self.root), str(self.given)}:
            if target == prefix:
                return ""
            if target.startswith(prefix.rstrip("/") + "/"):
                return target[len(prefix.rstrip("/")) + 1 :]
        return None


@dataclass
class Resolved:
    """An opened path: ``parent_fd`` is the directory holding ``name``; ``fd`` the target itself
    (None for ``want="parent"``). ``rel`` is the path inside the workspace after symlinks. Owns
    its descriptors: use it as a context manager."""

    parent_fd: int
    name: str
    rel: str
    fd: int | None

    def close(self) -> None:
        for fd in (self.fd, self.parent_fd):
            if fd is not None:
                os.close(fd)
        self.fd = None

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _readlink(name: str, dir_fd: int) -> str | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def os_error(exc: OSError, path: str) -> ToolError:
    """A one-line ``ToolError`` for an ``OSError`` on a workspace path."""
    if isinstance(exc, FileNotFoundError):
        return ToolError(f"{path}: no such file or directory")
    if isinstance(exc, NotADirectoryError):
        return ToolError(f"{path}: not a directory")
    if isinstance(exc, IsADirectoryError):
        return ToolError(f"{path}: is a directory")
    if isinstance(exc, PermissionError):
        return ToolError(f"{path}: permission denied")
    return ToolError(f"{path}: {exc.strerror or exc}")


class _Walk:
    """The state of one walk: open directories from the root down, and what is left to visit."""

    def __init__(self, workspace: Workspace, path: str) -> None:
        self.workspace = workspace
        self.path = path
        self.pending = deque(split_user_path(path))
        self.stack = [workspace.open_root()]
        self.names: list[str] = []
        self.links = 0

    @property
    def top(self) -> int:
        return self.stack[-1]

    def follow(self, target: str) -> None:
        self.links += 1
        if self.links > MAX_SYMLINKS:
            raise PathEscapeError(f"path {self.path!r} refused: too many levels of symlinks")
        if target.startswith("/"):
            inside = self.workspace.relative_target(target)
            if inside is None:
                raise self.escape()
            while len(self.stack) > 1:
                self.up()
            target = inside
        parts = [part for part in target.split("/") if part not in ("", ".")]
        self.pending.extendleft(reversed(parts))

    def escape(self) -> PathEscapeError:
        return PathEscapeError(f"path {self.path!r} refused: a symlink leads outside the workspace")

    def up(self) -> None:
        if len(self.stack) == 1:
            raise self.escape()
        os.close(self.stack.pop())
        self.names.pop()

    def enter_dir(self, name: str, *, create: bool) -> None:
        while True:
            try:
                fd = open_at(name, DIR_FLAGS, self.top)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=self.top)
                continue
            except OSError:
                target = _readlink(name, self.top)
                if target is None:
                    raise
                self.follow(target)
                return
            self.stack.append(fd)
            self.names.append(name)
            return

    def finish(self, name: str, fd: int | None) -> Resolved:
        parent = self.stack.pop()
        for other in self.stack:
            os.close(other)
        self.stack = []
        return Resolved(parent_fd=parent, name=name, rel="/".join([*self.names, name]), fd=fd)

    def close(self) -> None:
        for fd in self.stack:
            os.close(fd)
        self.stack = []


def resolve(workspace: Workspace, path: str, *, want: Want, create_dirs: bool = False) -> Resolved:
    """Open ``path`` inside the workspace.

    ``want="file"`` opens a regular file for reading, ``"dir"`` a directory (``""`` or ``"."``
    is the root), ``"parent"`` only the directory that holds (or will hold) the final name, for
    writing: symlinks in the final name are followed under the rules. ``create_dirs`` creates
    missing directories on the way. Raises ``PathEscapeError`` or ``ToolError``.
    """
    walk = _Walk(workspace, path)
    try:
        while walk.pending:
            name = walk.pending.popleft()
            if name == "..":
                walk.up()
                continue
            if walk.pending:
                try:
                    walk.enter_dir(name, create=create_dirs)
                except OSError as exc:
                    raise os_error(exc, path) from None
                continue
            if want == "parent":
                target = _readlink(name, walk.top)
                if target is None:
                    return walk.finish(name, None)
                walk.follow(target)
                continue
            try:
                fd = open_at(name, DIR_FLAGS if want == "dir" else FILE_FLAGS, walk.top)
            except OSError as exc:
                target = _readlink(name, walk.top)
                if target is None:
                    raise os_error(exc, path) from None
                walk.follow(target)
                continue
            if want == "file":
                _check_regular(fd, path)
            return walk.finish(name, fd)
        # The path named a directory already on the stack (the root, or a symlink to a dir).
        if want != "dir":
            raise ToolError(f"{path or '.'}: is a directory")
        fd = os.dup(walk.top)
        if not walk.names:
            return Resolved(parent_fd=walk.stack.pop(), name="", rel="", fd=fd)
        name = walk.names[-1]
        walk.up()
        return walk.finish(name, fd)
    except BaseException:
        walk.close()
        raise


def _check_regular(fd: int, path: str) -> None:
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return
    os.close(fd)
    if stat.S_ISDIR(mode):
        raise ToolError(f"{path}: is a directory")
    raise ToolError(f"{path}: not a regular file")
