"""The 0600 JSON files under the PyClaw home: secret values (fallback) and the names-only index."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any, cast

from pyclaw.meta import SecretError, atomic_write_text

FILE_MODE = 0o600
DIR_MODE = 0o700


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, fsync, rename), mode 0600."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, mode=FILE_MODE)


def read_json_map(path: Path, section: str) -> dict[str, str]:
    """The string map stored under ``section`` in a JSON file; empty when the file does not exist."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SecretError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data: object = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SecretError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
            hint="fix or remove the file",
        ) from exc
    if not isinstance(data, dict):
        raise SecretError(f"{path}: expected a JSON object")
    table = cast("dict[str, object]", data).get(section, {})
    if not isinstance(table, dict):
        raise SecretError(f"{path}: expected '{section}' to be a JSON object")
    result: dict[str, str] = {}
    for key, value in cast("dict[object, object]", table).items():
        if isinstance(key, str) and isinstance(value, str):
            result[key] = value
    return result


def group_or_world_accessible(path: Path) -> bool:
    """True when ``path`` exists and its mode lets anyone but the owner read or write it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(stat.S_IMODE(mode) & 0o077)


class JsonMapFile:
    """A ``{"version": 1, "<section>": {name: value}}`` file, rewritten atomically on each change."""

    def __init__(self, path: Path, section: str) -> None:
        self.path = path
        self.section = section

    def load(self) -> dict[str, str]:
        return read_json_map(self.path, self.section)

    def put(self, name: str, value: str) -> None:
        data = self.load()
        data[name] = value
        self._save(data)

    def remove(self, name: str) -> bool:
        """Remove ``name``; returns whether it was there."""
        data = self.load()
        if name not in data:
            return False
        del data[name]
        self._save(data)
        return True

    def _save(self, data: dict[str, str]) -> None:
        try:
            atomic_write_json(self.path, {"version": 1, self.section: data})
        except OSError as exc:
            raise SecretError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
