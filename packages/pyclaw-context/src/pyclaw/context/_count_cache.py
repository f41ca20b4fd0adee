"""A small persistent cache of exact token counts, so a fresh process need not load a tokenizer.

Stable texts (tool schemas, system prompts, skills) are counted again by every process that sends
them. ``CountCache`` keeps their exact counts in one JSON file under PyClaw's cache directory,
keyed by the encoding and the text's sha256 (the text itself is never stored). The file is read
once, on first use; a new count rewrites it atomically (merged with whatever another process wrote
meanwhile, oldest entries dropped beyond ``max_entries``). A missing, unreadable or corrupt file
is an empty cache; a cache that cannot be written is only kept in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import cast

_log = logging.getLogger("pyclaw.context")

COUNTS_FILE = "token-counts.json"
MAX_ENTRIES = 2048
MIN_CHARS = 32
"""Shorter texts are not worth a cache entry."""
_VERSION = 1


def text_key(encoding: str, text: str) -> str:
    """The cache key of ``text`` under ``encoding``."""
    return f"{encoding}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _read(path: Path) -> dict[str, int]:
    try:
        data: object = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    doc = cast("dict[str, object]", data)
    counts = doc.get("counts")
    if doc.get("version") != _VERSION or not isinstance(counts, dict):
        return {}
    return {
        k: v
        for k, v in cast("dict[object, object]", counts).items()
        if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
    }


class CountCache:
    """Exact token counts of texts, persisted in ``path`` (see the module docstring).

    ``path`` ``None`` means ``<PyClaw cache>/token-counts.json``, resolved on first use.
    Thread-safe; ``get`` never touches the disk after the first read.
    """

    def __init__(self, path: Path | None = None, *, max_entries: int = MAX_ENTRIES) -> None:
        self._path = path
        self.max_entries = max(max_entries, 1)
        self._counts: dict[str, int] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self._path is None:
            from pyclaw.context._bpe import pyclaw_cache_dir  # noqa: PLC0415 - env read on use

            self._path = pyclaw_cache_dir() / COUNTS_FILE
        return self._path

    def _loaded(self) -> dict[str, int]:
        counts = self._counts
        if counts is None:
            with self._lock:
                if self._counts is None:
                    self._counts = _read(self.path)
                counts = self._counts
        return counts

    def get(self, encoding: str, text: str) -> int | None:
        """The remembered exact count of ``text``, or ``None``."""
        if len(text) < MIN_CHARS:
            return None
        return self._loaded().get(text_key(encoding, text))

    def put(self, encoding: str, text: str, tokens: int) -> None:
        """Remember ``tokens`` as the exact count of ``text`` (written through to the file)."""
        if len(text) < MIN_CHARS:
            return
        key = text_key(encoding, text)
        counts = self._loaded()
        if counts.get(key) == tokens:
            return
        with self._lock:
            counts[key] = tokens
            merged = {**_read(self.path), **counts}
            if len(merged) > self.max_entries:
                merged = dict(list(merged.items())[-self.max_entries :])
            self._counts = merged
            self._write(merged)

    def _write(self, counts: dict[str, int]) -> None:
        path = self.path
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"version": _VERSION, "counts": counts}), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            _log.debug("cannot write the token count cache %s: %s", path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
