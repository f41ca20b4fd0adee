"""A small TOML writer for the shapes ``pyclaw init`` produces (tables of scalars and lists).

JSON string escapes are a subset of TOML basic-string escapes, so ``json.dumps`` renders strings
(plus an escape for DEL, which TOML forbids raw).
Whatever is written is parsed back and validated before it reaches the disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(text: str) -> str:
    # JSON escapes U+0000-U+001F; TOML also forbids a raw DEL (U+007F).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in cast("Sequence[object]", value)) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _array_of_tables(value: object) -> list[Mapping[str, Any]] | None:
    if isinstance(value, list) and value:
        items = cast("list[object]", value)
        if all(isinstance(item, Mapping) for item in items):
            return cast("list[Mapping[str, Any]]", items)
    return None


def _table(out: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    scalars: dict[str, object] = {}
    tables: dict[str, Mapping[str, Any]] = {}
    arrays: dict[str, list[Mapping[str, Any]]] = {}
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables[key] = cast("Mapping[str, Any]", value)
        elif (items := _array_of_tables(value)) is not None:
            arrays[key] = items
        else:
            scalars[key] = value
    if path and (scalars or not (tables or arrays)):
        out.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    out.extend(f"{_key(key)} = {_value(value)}" for key, value in scalars.items())
    for key, value in tables.items():
        _table(out, (*path, key), value)
    for key, items in arrays.items():
        for item in items:
            out.append(f"\n[[{'.'.join(_key(p) for p in (*path, key))}]]")
            out.extend(f"{_key(k)} = {_value(v)}" for k, v in item.items() if v is not None)


def render_toml(data: Mapping[str, Any], *, header: str | None = None) -> str:
    """TOML text for ``data``; ``None`` values are left out."""
    out: list[str] = []
    if header:
        out.extend(f"# {line}" if line else "#" for line in header.splitlines())
    _table(out, (), data)
    return "\n".join(out).lstrip("\n") + "\n"
