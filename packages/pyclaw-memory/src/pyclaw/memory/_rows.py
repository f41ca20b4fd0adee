"""Converting between ``MemoryItem`` and rows of the ``memories`` table."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pyclaw.meta import MemoryItem, canonical_json, format_ts

COLUMNS = "id, agent, kind, text, source, session_id, tags, created_at, expires_at"
"""The columns ``from_row`` reads, in order (prefix them with a table alias where needed)."""


def aliased(alias: str) -> str:
    """``COLUMNS`` with every column qualified by ``alias``."""
    return ", ".join(f"{alias}.{column.strip()}" for column in COLUMNS.split(","))


def to_row(item: MemoryItem, norm: str) -> dict[str, Any]:
    """The ``memories`` row of ``item`` (``norm`` is its dedupe key)."""
    return {
        "id": item.id,
        "agent": item.agent,
        "kind": item.kind,
        "text": item.text,
        "norm": norm,
        "source": item.source,
        "session_id": item.session_id,
        "tags": canonical_json(list(item.tags)),
        "created_at": format_ts(item.created_at),
        "created_epoch": item.created_at.timestamp(),
        "expires_at": None if item.expires_at is None else format_ts(item.expires_at),
    }


def from_row(row: tuple[Any, ...]) -> MemoryItem:
    """The ``MemoryItem`` of a row selected with ``COLUMNS``."""
    item_id, agent, kind, text, source, session_id, tags, created_at, expires_at = row[:9]
    return MemoryItem.model_validate(
        {
            "id": item_id,
            "agent": agent,
            "kind": kind,
            "text": text,
            "source": source,
            "session_id": session_id,
            "tags": tuple(json.loads(tags)),
            "created_at": datetime.fromisoformat(created_at),
            "expires_at": None if expires_at is None else datetime.fromisoformat(expires_at),
        }
    )
