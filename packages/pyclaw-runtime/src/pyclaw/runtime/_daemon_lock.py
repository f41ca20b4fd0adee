"""The daemon's single-instance lock: an ``flock`` on ``run/daemon.lock`` holding the owner's pid.

The kernel drops the lock when the process dies (even by ``kill -9``), so a stale file never
blocks a restart; a second daemon on the same home fails at once with the first one's pid.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pyclaw.runtime._control_wire import DaemonAlreadyRunning


class DaemonLock:
    """Held from ``acquire()`` until ``release()`` (or the process's end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DaemonAlreadyRunning(
                f"another pyclaw daemon is already running on this home (pid {owner})",
                hint="stop it first, or use another PYCLAW_HOME",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the lock


def lock_owner(path: Path) -> int | None:
    """The pid of the daemon holding ``path``, or ``None`` when no process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
