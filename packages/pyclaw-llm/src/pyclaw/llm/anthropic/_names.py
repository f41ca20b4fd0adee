"""Tool names as the Messages API accepts them."""

from __future__ import annotations

import re

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def api_tool_name(name: str) -> str:
    """``name`` made valid for the Messages API (``[A-Za-z0-9_-]{1,64}``): other characters become
    ``_``."""
    return _BAD_NAME_CHARS.sub("_", name)[:64] or "_"


def unused_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``… (kept within 64 characters): the first not in ``taken``."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base[: 63 - len(str(n))]}_{n}"
    return name
