"""Telegram entities (UTF-16 offsets) → the HTML subset Telegram's ``parse_mode=HTML`` accepts.

Entities may nest or overlap; overlapping ones are closed and reopened so the tags always nest.
Nothing is nested inside ``code``/``pre`` (Telegram forbids it), nor a quote inside a quote.
Text is escaped (``& < >``), attribute values too (``"``), so the output always parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

LINK_SCHEMES = frozenset({"http", "https", "tg", "mailto", "ftp"})
"""Links to other schemes (relative links, ``javascript:``) are shown as plain text."""

_SIMPLE = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ("<tg-spoiler>", "</tg-spoiler>"),
    "code": ("<code>", "</code>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote expandable>", "</blockquote>"),
}
_LEAF = frozenset({"code", "pre"})
_QUOTE = frozenset({"blockquote", "expandable_blockquote"})


@dataclass(frozen=True, slots=True)
class Entity:
    """A formatting span, Telegram style: ``offset``/``length`` in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


def _tags(entity: Entity) -> tuple[str, str] | None:
    """The opening and closing tag of ``entity`` (``None``: render its text unformatted)."""
    tags = _SIMPLE.get(entity.type)
    language = entity.language or ""
    if entity.type == "pre":
        tags = ("<pre>", "</pre>")
        if language and language.replace("-", "").replace("+", "").isalnum():
            tags = (f'<pre><code class="language-{language}">', "</code></pre>")
    elif entity.type == "text_link" and entity.url:
        if urlsplit(entity.url).scheme.lower() in LINK_SCHEMES:
            tags = (f'<a href="{escape(entity.url, quote=True)}">', "</a>")
    elif entity.type == "custom_emoji" and entity.custom_emoji_id:
        emoji = escape(entity.custom_emoji_id, quote=True)
        tags = (f'<tg-emoji emoji-id="{emoji}">', "</tg-emoji>")
    return tags


def utf16_offsets(text: str) -> dict[int, int]:
    """UTF-16 offset → Python index, for every character boundary of ``text``."""
    table: dict[int, int] = {}
    unit = 0
    for index, char in enumerate(text):
        table[unit] = index
        unit += 2 if ord(char) > 0xFFFF else 1
    table[unit] = len(text)
    return table


def _usable(text: str, entities: Sequence[Entity]) -> list[tuple[int, int, Entity]]:
    """Entities that render, as Python index ranges, outermost first at equal starts."""
    table = utf16_offsets(text)
    spans: list[tuple[int, int, Entity]] = []
    for entity in entities:
        start = table.get(entity.offset)
        end = table.get(entity.offset + entity.length)
        if start is None or end is None or end <= start or _tags(entity) is None:
            continue
        spans.append((start, end, entity))
    spans.sort(key=lambda s: (s[0], -s[1]))
    kept: list[tuple[int, int, Entity]] = []
    for start, end, entity in spans:
        inside = [k for k in kept if k[0] <= start < k[1]]
        if any(k[2].type in _LEAF for k in inside):
            continue  # nothing inside code
        if entity.type in _QUOTE and any(k[2].type in _QUOTE for k in inside):
            continue  # no quote in a quote
        if entity.type in _LEAF and any(
            k[0] < end and start < k[1] for k in kept if k not in inside
        ):
            continue
        kept.append((start, end, entity))
    return kept


def entities_to_html(text: str, entities: Sequence[Entity]) -> str:
    """Render ``text`` with ``entities`` as Telegram HTML (tags always properly nested)."""
    spans = _usable(text, entities)
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    starts: dict[int, list[tuple[int, int, Entity]]] = {}
    for span in spans:
        starts.setdefault(span[0], []).append(span)
    out: list[str] = []
    stack: list[tuple[int, int, Entity]] = []
    for position, following in zip(cuts, [*cuts[1:], None], strict=True):
        if any(end == position for _, end, _ in stack):
            reopen: list[tuple[int, int, Entity]] = []
            while any(end == position for _, end, _ in stack):
                top = stack.pop()
                out.append(_closing(top[2]))
                if top[1] != position:
                    reopen.append(top)
            for span in reversed(reopen):
                out.append(_opening(span[2]))
                stack.append(span)
        for span in starts.get(position, []):
            out.append(_opening(span[2]))
            stack.append(span)
        if following is not None:
            out.append(escape(text[position:following], quote=False))
    return "".join(out)


def _opening(entity: Entity) -> str:
    tags = _tags(entity)
    assert tags is not None
    return tags[0]


def _closing(entity: Entity) -> str:
    tags = _tags(entity)
    assert tags is not None
    return tags[1]
