"""``PayloadRenderer``: ``payload_json`` that re-renders only the new messages of a model request.

Each step of a run records its whole prompt as an ``llm_request``; in a long session that is
hundreds of messages, all but the last few the very same (frozen) ``Message`` objects as in the
previous step's request, and the same ``ToolSpec`` objects. The renderer keeps the JSON of
recently rendered messages and tool specs (by identity) and splices it into the request's JSON,
so a step renders only what is new. The text is exactly ``payload_json(payload)``: the same
compact pydantic-core rendering, item by item. Like every PyClaw model, a rendered message is
taken to be immutable (the ``dict`` fields inside one are never mutated in place).
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections.abc import Sequence
from typing import cast

from pyclaw.meta import EventPayload, LLMRequestEvent, Message, ToolSpec, payload_json

DEFAULT_ITEMS = 8192
"""Items remembered: several sessions' full 8k-token windows (a few hundred messages each)."""

MAX_CHARS = 4_000_000
"""At most about this many characters of JSON are remembered: dozens of full 8k-token windows
(~55,000 characters each), a few MB of RAM besides the messages kept alive."""

MIN_ITEMS = 8
"""Requests with fewer messages and tools are rendered whole: splicing would not pay off."""

_MESSAGES = '"messages":[]'
_TOOLS = '"tools":[]'

_Item = Message | ToolSpec
_Entry = tuple[_Item, str]
"""The item (kept alive, so its ``id`` is not reused while remembered) and its JSON."""

_TEXT = operator.itemgetter(1)


class PayloadRenderer:
    """Renders payloads to their stored text, remembering the JSON of request messages and tools.

    Entries live in two generations: a hit in the old one moves the entry to the new one, and
    when the new one is full (``size // 2`` items or ``max_chars // 2`` characters) the old one
    is dropped, so the items every step uses stay and the rest age out. Thread-safe.
    """

    def __init__(self, size: int = DEFAULT_ITEMS, *, max_chars: int = MAX_CHARS) -> None:
        self._half = max(0, size) // 2
        self._half_chars = max(0, max_chars) // 2
        self._new: dict[int, _Entry] = {}
        self._old: dict[int, _Entry] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    def render(self, payload: EventPayload) -> str:
        """``payload_json(payload)``, rendering the messages and tools of a request incrementally."""
        if not isinstance(payload, LLMRequestEvent) or self._half == 0:
            return payload_json(payload)
        request = payload.request
        messages, tools = request.messages, request.tools
        if (
            len(messages) + len(tools) < MIN_ITEMS
            or not _all_exactly(messages, Message)
            or not _all_exactly(tools, ToolSpec)
        ):
            return payload_json(payload)  # a subclass renders differently on its own
        bare = request.model_copy(update={"messages": (), "tools": ()})
        head = payload_json(payload.model_copy(update={"request": bare}))
        # Quotes inside JSON strings are escaped, so the first '"messages":[]' is the key of
        # request.messages (every field rendered before it is a scalar), and the first
        # '"tools":[]' after it is request.tools (only "system", a string, lies between).
        at_messages = head.find(_MESSAGES)
        at_tools = head.find(_TOOLS, at_messages + len(_MESSAGES))
        if at_messages < 0 or at_tools < 0:  # pragma: no cover - both are always rendered
            return payload_json(payload)
        with self._lock:
            rendered_messages = ",".join(self._texts(messages))
            rendered_tools = ",".join(self._texts(tools))
        return "".join(
            (
                head[:at_messages],
                f'"messages":[{rendered_messages}]',
                head[at_messages + len(_MESSAGES) : at_tools],
                f'"tools":[{rendered_tools}]',
                head[at_tools + len(_TOOLS) :],
            )
        )

    def _texts(self, items: Sequence[_Item]) -> list[str]:
        """The JSON of each item. An entry keeps its item alive, so the live object with that
        ``id`` is the item itself: a lookup by ``id`` needs no identity check."""
        found = list(map(self._new.get, map(id, items)))
        at = -1
        with contextlib.suppress(ValueError):  # no (more) misses
            while True:  # a step adds a few messages: find them in C, render only those
                at = found.index(None, at + 1)
                found[at] = self._miss(items[at])
        return list(map(_TEXT, cast("list[_Entry]", found)))

    def _miss(self, item: _Item) -> _Entry:
        key = id(item)
        entry = self._old.pop(key, None) or (item, item.model_dump_json())
        self._remember(key, entry)
        return entry

    def _remember(self, key: int, entry: _Entry) -> None:
        chars = len(entry[1])
        if chars > self._half_chars:
            return
        if len(self._new) >= self._half or self._chars + chars > self._half_chars:
            self._old, self._new, self._chars = self._new, {}, 0
        self._new[key] = entry
        self._chars += chars


def _all_exactly(items: Sequence[_Item], cls: type[_Item]) -> bool:
    return not items or set(map(type, items)) == {cls}
