"""Telegram's ``parse_mode=HTML`` as the fake server checks it: text + entities, or Telegram's error.

Accepted, as documented by the Bot API: ``b strong i em u ins s strike del`` ``span
class="tg-spoiler"`` ``tg-spoiler`` ``a href`` ``code`` (with ``class="language-…"`` directly in
``pre``) ``pre`` ``blockquote`` (optionally ``expandable``) ``tg-emoji emoji-id``; tags must be
properly nested and closed; ``&`` starts ``&lt; &gt; &amp; &quot;`` or a numeric entity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(error)`` is Telegram's description."""


@dataclass
class _Open:
    tag: str
    type: str
    start: int
    attrs: dict[str, str] = field(default_factory=dict[str, str])


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(html: str) -> tuple[str, list[dict[str, object]]]:
    """Parse Telegram HTML into plain text and Bot API entity dicts, or raise ``HtmlParseError``."""
    text: list[str] = []
    units = 0
    stack: list[_Open] = []
    entities: list[dict[str, object]] = []
    position = 0

    def offset_of(index: int) -> int:
        return len(html[:index].encode("utf-8"))

    while position < len(html):
        char = html[position]
        if char == "<":
            match = _TAG.match(html, position)
            if match is None:
                raise _fail(f"Unclosed start tag at byte offset {offset_of(position)}")
            closing, name, rest, _ = match.groups()
            name = name.lower()
            if name not in _SIMPLE:
                kind = "end" if closing else "start"
                raise _fail(f'Unsupported {kind} tag "{name}" at byte offset {offset_of(position)}')
            if closing:
                if not stack:
                    raise _fail(f"Unexpected end tag at byte offset {offset_of(position)}")
                top = stack.pop()
                if top.tag != name:
                    raise _fail(
                        f"Unmatched end tag at byte offset {offset_of(position)}, expected "
                        f'"</{top.tag}>", found "</{name}>"'
                    )
                _close(top, units, entities)
            else:
                stack.append(_open(name, rest, units, stack))
            position = match.end()
            continue
        if char == "&":
            match = _ENTITY.match(html, position)
            if match is None:
                raise _fail(
                    f"Can't find end of the entity starting at byte offset {offset_of(position)}"
                )
            piece = unescape(match.group(0))
            position = match.end()
        else:
            piece = char
            position += 1
        text.append(piece)
        units += _units(piece)
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (int(str(e["offset"])), -int(str(e["length"]))))
    return "".join(text), entities


def _fail(reason: str) -> HtmlParseError:
    return HtmlParseError(f"Bad Request: can't parse entities: {reason}")


def _open(name: str, rest: str, units: int, stack: list[_Open]) -> _Open:
    attrs = {
        m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
        for m in _ATTR.finditer(rest or "")
    }
    kind = _SIMPLE[name]
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _fail('Tag "span" must have class "tg-spoiler"')
    if name == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    if name == "code" and stack and stack[-1].tag == "pre":
        attrs["in-pre"] = "1"  # merges into the pre entity
        if "class" in attrs:
            stack[-1].attrs["language"] = attrs["class"].removeprefix("language-")
    return _Open(name, kind, units, attrs)


def _close(top: _Open, units: int, entities: list[dict[str, object]]) -> None:
    length = units - top.start
    if length <= 0 or "in-pre" in top.attrs:
        return
    entity: dict[str, object] = {"type": top.type, "offset": top.start, "length": length}
    if top.type == "text_link":
        if not top.attrs.get("href"):
            return
        entity["url"] = unescape(top.attrs["href"])
    if top.type == "pre" and top.attrs.get("language"):
        entity["language"] = top.attrs["language"]
    if top.type == "custom_emoji":
        entity["custom_emoji_id"] = top.attrs.get("emoji-id", "")
    entities.append(entity)


def strip_html(html: str) -> str:
    """The text Telegram shows for valid ``html`` (tags removed, entities decoded)."""
    return parse_html(html)[0]
