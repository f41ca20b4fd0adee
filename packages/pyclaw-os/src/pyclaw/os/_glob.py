"""Glob patterns over workspace-relative paths: ``*``, ``?``, ``[...]`` within one segment and
``**`` for any number of directories (``**/*.py``, ``src/**/test_*.py``)."""

from __future__ import annotations

import re
from fnmatch import translate
from functools import lru_cache

from pyclaw.os._paths import split_user_path


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern))


class GlobPattern:
    """A compiled glob; refuses absolute patterns, ``~``, NUL and ``..`` like any workspace path."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.parts = tuple(split_user_path(pattern))
        if not self.parts:
            raise ValueError("empty glob pattern")

    def match(self, rel: str) -> bool:
        """Whether the whole relative path matches."""
        return _match(self.parts, tuple(rel.split("/")))

    def could_contain(self, rel_dir: str) -> bool:
        """Whether some path under directory ``rel_dir`` may match (prunes the walk)."""
        return _prefix(self.parts, tuple(rel_dir.split("/")))


def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and _segment(head).match(path[0]) is not None and _match(rest, path[1:])


def _prefix(pattern: tuple[str, ...], directory: tuple[str, ...]) -> bool:
    if not directory:
        return bool(pattern)
    if not pattern:
        return False
    head = pattern[0]
    if head == "**":
        return True
    return _segment(head).match(directory[0]) is not None and _prefix(pattern[1:], directory[1:])
