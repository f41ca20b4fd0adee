"""Process plumbing for the managed server: a free port, spawning into its own process group,
stopping the whole group, and a last-resort cleanup at interpreter exit.

The server runs in a new session (its own process group), so a Ctrl-C in the terminal reaches
PyClaw, which then stops the server in order, and stopping kills everything the server spawned.
On Linux the child also gets ``SIGTERM`` if the thread that started it dies (``PR_SET_PDEATHSIG``),
so even a ``kill -9`` of PyClaw leaves no orphan behind.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO

_live_groups: set[int] = set()
"""Process-group ids of servers started and not yet stopped (for the exit hook)."""

EXIT_GRACE = 2.0
"""Seconds the exit hook waits after SIGTERM before SIGKILL."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


_PR_SET_PDEATHSIG = 1


def _preexec() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when its parent thread exits.

    ``prctl`` is looked up here, in the parent, so the child only makes one system call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol
        return None

    def die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return die_with_parent


async def spawn(
    argv: Sequence[str], *, log: IO[bytes], env: Mapping[str, str] | None
) -> asyncio.subprocess.Process:
    """Start ``argv`` in its own session, stdout and stderr to ``log``, stdin closed."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env=None if env is None else dict(env),
        start_new_session=True,
        preexec_fn=_preexec(),  # only prctl(PR_SET_PDEATHSIG): one system call in the child
    )
    _live_groups.add(process.pid)
    return process


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled id that is not ours
        return False
    return True


async def terminate(process: asyncio.subprocess.Process, *, grace: float) -> int | None:
    """Stop the process and its whole group: SIGTERM, then SIGKILL after ``grace`` seconds.
    Returns the exit status."""
    pgid = process.pid
    if process.returncode is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await process.wait()
        except TimeoutError:
            _signal_group(pgid, signal.SIGKILL)
            await process.wait()
    # the leader is gone; anything it left in its group goes too
    _signal_group(pgid, signal.SIGKILL)
    _live_groups.discard(pgid)
    return process.returncode


def forget(process: asyncio.subprocess.Process) -> None:
    """The process exited on its own: kill what it may have left in its group, stop tracking it."""
    _signal_group(process.pid, signal.SIGKILL)
    _live_groups.discard(process.pid)


@atexit.register
def _kill_leftovers() -> None:
    """At interpreter exit, stop every server an owner forgot to stop (SIGTERM, then SIGKILL)."""
    groups = [g for g in _live_groups if _signal_group(g, signal.SIGTERM)]
    deadline = time.monotonic() + EXIT_GRACE
    while groups and time.monotonic() < deadline:
        time.sleep(0.05)
        groups = [g for g in groups if _group_alive(g)]
    for group in groups:
        _signal_group(group, signal.SIGKILL)
    _live_groups.clear()


def _group_alive(pgid: int) -> bool:
    """Whether the group's leader still exists (and is not a zombie we could reap)."""
    with contextlib.suppress(ChildProcessError):
        pid, _ = os.waitpid(pgid, os.WNOHANG)
        if pid == pgid:
            return False
    return _signal_group(pgid, signal.SIGCONT)  # a harmless probe: True while any member lives
