"""``RedactionMemo``: redacted copies of models and strings remembered for one redactor version."""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Sequence
from typing import cast

from pyclaw.meta import Model, Redactor

DEFAULT_MEMO_SIZE = 4096
"""Models remembered by a ``RedactionGuard``: a full 8k-token window is a few hundred messages."""

MEMO_CHARS = 8_000_000
"""At most about this many characters of text are kept alive by the remembered models."""

_Entry = tuple[Model, Model, int, bool]
"""The original, its redacted copy, about how many characters of text it holds, and whether the
copy is the original itself (nothing to redact)."""

_MISS = cast("_Entry", (None, None, 0, True))
"""Stands in for an entry not remembered: its copy is ``None`` and it changes nothing."""

_REDACTED = operator.itemgetter(1)
_SAME = operator.itemgetter(3)


def redactor_version(redactor: Redactor) -> int | None:
    """The redactor's ``version`` counter (see ``SecretRedactor.version``), or ``None`` when it
    has none: then nothing it redacted may be remembered, as a new secret would go unnoticed."""
    version: object = getattr(redactor, "version", None)
    return version if isinstance(version, int) else None


class RedactionMemo:
    """What redacting a model or a string gave, while the redactor's secrets stay the same.

    Models are looked up by identity (PyClaw models are frozen) and each entry keeps the original
    alive, so its ``id`` cannot be reused by another object while remembered. Strings are looked
    up by value. Entries live in two generations: a lookup that hits the old one moves the entry
    to the new one, and when the new one is full (``size // 2`` models or ``max_chars // 2``
    characters of text) the old one is dropped, so what is used every step stays and the rest ages
    out, at the cost of one dict lookup per hit. (Entries used at every step all stay, even past
    ``size``: they are alive in the requests anyway.) ``sync(version)`` forgets everything when the
    redactor's version moved on, so a newly registered secret is never missed. Used from the event
    loop only (not thread-safe).
    """

    def __init__(self, size: int = DEFAULT_MEMO_SIZE, *, max_chars: int = MEMO_CHARS) -> None:
        self._half = max(0, size) // 2
        self._half_chars = max(0, max_chars) // 2
        self._new: dict[int, _Entry] = {}
        self._old: dict[int, _Entry] = {}
        self._chars = 0
        self._texts: dict[str, str] = {}
        self._version: int | None = None

    def __len__(self) -> int:
        return len(self._new) + len(self._old) + len(self._texts)

    def sync(self, version: int) -> None:
        """Forget everything remembered under another redactor version."""
        if version != self._version:
            self._new, self._old, self._chars = {}, {}, 0
            self._texts = {}
            self._version = version

    def models(self, originals: Sequence[Model]) -> tuple[list[Model | None], bool, list[int]]:
        """The redacted copy of each of ``originals`` (``None`` when not remembered), whether any
        remembered copy differs from its original, and the indexes of those not remembered."""
        # An entry holds its original, so a live object with that id is the original itself.
        entries = list(map(self._new.get, map(id, originals)))
        missed: list[int] = []
        at = -1
        with contextlib.suppress(ValueError):  # no (more) misses
            while True:  # a step adds a few messages: find them in C, look only at those
                at = entries.index(None, at + 1)  # entries are tuples: compared in C
                entry = entries[at] = self._promote(originals[at])
                if entry is None:
                    entries[at] = _MISS
                    missed.append(at)
        hits = cast("list[_Entry]", entries)
        return list(map(_REDACTED, hits)), not all(map(_SAME, hits)), missed

    def _promote(self, original: Model) -> _Entry | None:
        entry = self._old.pop(id(original), None)
        if entry is not None:
            self._new[id(original)] = entry
            self._chars += entry[2]
        return entry

    def text(self, original: str) -> str | None:
        return self._texts.get(original)

    def remember_model(self, original: Model, redacted: Model, version: int, chars: int) -> None:
        """Keep ``redacted`` for ``original`` (about ``chars`` characters of text), if it was made
        under the current version."""
        if version != self._version or self._half == 0 or chars > self._half_chars:
            return
        if len(self._new) >= self._half or self._chars + chars > self._half_chars:
            self._old, self._new, self._chars = self._new, {}, 0
        self._new[id(original)] = (original, redacted, chars, redacted is original)
        self._chars += chars

    def remember_text(self, original: str, redacted: str, version: int) -> None:
        if version != self._version or self._half == 0 or len(original) > self._half_chars:
            return
        if len(self._texts) >= 64:
            self._texts.clear()
        self._texts[original] = redacted
