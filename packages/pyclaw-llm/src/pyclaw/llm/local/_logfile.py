"""The server's log file: where it lives, opening it for a new run, reading its last line."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROTATE_BYTES = 10 * 1024 * 1024
"""A log larger than this is moved to ``<name>.1`` before the next start."""


def default_log_dir() -> Path:
    """Where logs go when the owner names no directory: ``<tmp>/pyclaw-local``."""
    return Path(tempfile.gettempdir()) / "pyclaw-local"


def open_log(path: Path, argv: Sequence[str]) -> IO[bytes]:
    """Open ``path`` for appending (rotating a large one) and write a header for this run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))
    log = path.open("ab")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log.write(f"==> pyclaw: {stamp} starting {' '.join(argv)}\n".encode())
    log.flush()
    return log


def last_line(path: Path, *, limit: int = 300) -> str:
    """The last non-empty line of the log (at most ``limit`` characters), or ``""``."""
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - 8192))
            tail = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("==> pyclaw:")]
    return lines[-1][:limit] if lines else ""
