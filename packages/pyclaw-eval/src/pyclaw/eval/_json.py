"""``JsonCache``: the stored JSON of payloads, rendering a model request's messages only once.

Every step of a replayed run records its whole prompt as an ``llm_request``; in a long session
that is hundreds of messages, nearly all the very same (frozen) ``Message`` objects as in the
previous step's request. The cache keeps the JSON of the messages and tool specs it rendered (by
identity) and splices it into a request's JSON, so sealing a step renders only what is new; the
text is exactly ``payload_json(payload)`` (pydantic-core's compact rendering, item by item). The
same per-message JSON lets ``RecordedProvider`` compare a replayed prompt with the recorded one
without a deep model comparison. Like every PyClaw model, a message is taken to be immutable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import cast

from pyclaw.meta import EventPayload, LLMRequestEvent, Message, ToolSpec, payload_json

DEFAULT_ITEMS = 32768
"""Items remembered: thousands of messages (a long session's replayed and recorded prompts)."""

MIN_ITEMS = 8
"""Requests with fewer messages and tools are rendered whole: splicing would not pay off."""

_MESSAGES = '"messages":[]'
_TOOLS = '"tools":[]'

Item = Message | ToolSpec


class _Generation:
    """Remembered JSON by ``id``, each item kept alive (so its ``id`` is not reused meanwhile)."""

    __slots__ = ("items", "texts")

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}
        self.items: dict[int, Item] = {}


class JsonCache:
    """The JSON of messages, tool specs and payloads, remembered by identity (not thread-safe).

    Entries live in two generations: a hit in the old one moves the entry to the new one, and
    when the new one holds ``size // 2`` items the old one is dropped, so the items every step
    uses stay and the rest age out.
    """

    def __init__(self, size: int = DEFAULT_ITEMS) -> None:
        self._half = max(1, size // 2)
        self._new = _Generation()
        self._old = _Generation()

    def __len__(self) -> int:
        return len(self._new.texts) + len(self._old.texts)

    def text(self, item: Item) -> str:
        """``item.model_dump_json()``, remembered."""
        text = self._new.texts.get(id(item))
        return self._miss(item) if text is None else text

    def texts(self, items: Sequence[Item]) -> list[str]:
        """The JSON of each item, in order."""
        found = list(map(self._new.texts.get, map(id, items)))
        at = -1
        with contextlib.suppress(ValueError):  # no (more) misses
            while True:  # a step adds a few messages: find them in C, render only those
                at = found.index(None, at + 1)
                found[at] = self._miss(items[at])
        return cast("list[str]", found)

    def payload(self, payload: EventPayload) -> str:
        """``payload_json(payload)``, splicing the remembered JSON of a request's messages and tools."""
        if not isinstance(payload, LLMRequestEvent):
            return payload_json(payload)
        request = payload.request
        messages, tools = request.messages, request.tools
        if (
            len(messages) + len(tools) < MIN_ITEMS
            or not _all_exactly(messages, Message)
            or not _all_exactly(tools, ToolSpec)
        ):
            return payload_json(payload)  # a subclass may render differently on its own
        bare = request.model_copy(update={"messages": (), "tools": ()})
        head = payload_json(payload.model_copy(update={"request": bare}))
        # Quotes inside JSON strings are escaped, so the first '"messages":[]' is the key of
        # request.messages (every field rendered before it is a scalar), and the first
        # '"tools":[]' after it is request.tools (only "system", a string, lies between).
        at_messages = head.find(_MESSAGES)
        at_tools = head.find(_TOOLS, at_messages + len(_MESSAGES))
        if at_messages < 0 or at_tools < 0:  # pragma: no cover - both are always rendered
            return payload_json(payload)
        return "".join(
            (
                head[:at_messages],
                '"messages":[',
                ",".join(self.texts(messages)),
                "]",
                head[at_messages + len(_MESSAGES) : at_tools],
                '"tools":[',
                ",".join(self.texts(tools)),
                "]",
                head[at_tools + len(_TOOLS) :],
            )
        )

    def _miss(self, item: Item) -> str:
        key = id(item)
        text = self._old.texts.pop(key, None)
        if text is None or self._old.items.pop(key) is not item:
            text = item.model_dump_json()
        if len(self._new.texts) >= self._half:
            self._old, self._new = self._new, _Generation()
        self._new.texts[key] = text
        self._new.items[key] = item
        return text


def _all_exactly(items: Sequence[Item], cls: type[Item]) -> bool:
    return not items or set(map(type, items)) == {cls}
