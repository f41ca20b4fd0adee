"""Finding the line of a key in TOML text, so config errors can say ``pyclaw.toml:12``.

``tomllib`` keeps no positions, so this is a light line scanner: table headers, arrays of tables
and ``key = value`` lines (dotted and quoted keys included). Good enough to point a human at the
right place; when in doubt it returns the enclosing table's line or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)')
_HEADER = re.compile(r"^\[(\[)?\s*(.+?)\s*\]?\]\s*(#.*)?$")
_KEY = re.compile(
    r"""^((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*="""
)


def split_key(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` → ``("a", "b.c", "d")``."""
    return tuple(m.group(1) or m.group(2) or m.group(3) or "" for m in _PART.finditer(text))


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """The 1-based line defining ``loc`` (or the closest enclosing table), ``None`` if not found."""
    target = tuple(loc)
    current: tuple[str | int, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched length, line)
    in_multiline = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        quotes = line.count('"""') + line.count("'''")
        if in_multiline:
            in_multiline = quotes % 2 == 0
            continue
        if not line or line.startswith("#"):
            continue
        path: tuple[str | int, ...] | None = None
        header = _HEADER.match(line) if line.startswith("[") else None
        if header is not None:
            parts = split_key(header.group(2))
            if header.group(1):
                index = counts.get(parts, 0)
                counts[parts] = index + 1
                current = (*parts, index)
            else:
                current = parts
            path = current
        else:
            key = _KEY.match(line)
            if key is not None:
                path = (*current, *split_key(key.group(1)))
            in_multiline = quotes % 2 == 1
        if path is None:
            continue
        if path == target and header is None:
            return number
        if target[: len(path)] == path and (best is None or len(path) > best[0]):
            best = (len(path), number)
    return None if best is None else best[1]
