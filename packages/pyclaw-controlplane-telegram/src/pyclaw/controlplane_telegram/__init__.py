"""The Telegram channel: long polling in, replies and approval buttons out.

``TelegramChannel`` implements ``pyclaw.meta.Channel`` over python-telegram-bot's ``Bot``: updates
are recorded in SQLite with the polling offset before Telegram is told to forget them, then
delivered once each as ``ControlEvent``s; replies are Markdown rendered to Telegram HTML in chunks
under 4096 characters, with a plain-text fallback and an idempotency key per chunk. Unknown users
get a pairing code (``approve_pairing``). ``pyclaw.controlplane_telegram.testing`` has a fake Bot
API server for tests.

Names load on first access (PEP 562): the pairing functions, used by the CLI, do not import
python-telegram-bot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyclaw.controlplane_telegram._channel import TelegramChannel
    from pyclaw.controlplane_telegram._errors import (
        PairingNotFoundError,
        TelegramAuthError,
        TelegramConflictError,
        TelegramError,
    )
    from pyclaw.controlplane_telegram._format import Chunk, render_markdown, render_plain
    from pyclaw.controlplane_telegram._live import StreamHandle
    from pyclaw.controlplane_telegram._pairing import (
        PairedUser,
        PairingRequest,
        approve_pairing,
        list_paired_users,
        list_pairings,
        revoke_paired_user,
    )
    from pyclaw.controlplane_telegram._schema import TELEGRAM_MIGRATIONS
    from pyclaw.controlplane_telegram._settings import TELEGRAM_API, TelegramSettings

_EXPORTS: dict[str, str] = {
    "TelegramChannel": "_channel",
    "PairingNotFoundError": "_errors",
    "TelegramAuthError": "_errors",
    "TelegramConflictError": "_errors",
    "TelegramError": "_errors",
    "Chunk": "_format",
    "render_markdown": "_format",
    "render_plain": "_format",
    "StreamHandle": "_live",
    "PairedUser": "_pairing",
    "PairingRequest": "_pairing",
    "approve_pairing": "_pairing",
    "list_paired_users": "_pairing",
    "list_pairings": "_pairing",
    "revoke_paired_user": "_pairing",
    "TELEGRAM_MIGRATIONS": "_schema",
    "TELEGRAM_API": "_settings",
    "TelegramSettings": "_settings",
}

__all__ = [
    "TELEGRAM_API",
    "TELEGRAM_MIGRATIONS",
    "Chunk",
    "PairedUser",
    "PairingNotFoundError",
    "PairingRequest",
    "StreamHandle",
    "TelegramAuthError",
    "TelegramChannel",
    "TelegramConflictError",
    "TelegramError",
    "TelegramSettings",
    "approve_pairing",
    "list_paired_users",
    "list_pairings",
    "render_markdown",
    "render_plain",
    "revoke_paired_user",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pyclaw.controlplane_telegram' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pyclaw.controlplane_telegram.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
