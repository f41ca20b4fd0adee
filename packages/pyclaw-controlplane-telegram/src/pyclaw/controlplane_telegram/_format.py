"""Replies: Markdown → Telegram text + entities (``telegramify-markdown``) → chunks → HTML.

``telegramify-markdown`` parses with a real CommonMark parser (pulldown-cmark, via ``pyromark``)
and gives plain text plus entities measured in UTF-16 code units, Telegram's unit. Its
``split_entities`` cuts that text at line breaks under the limit and clips each entity into every
chunk it spans, so a code block cut in two is closed at the end of one chunk and reopened at the
start of the next. Each chunk is then rendered to HTML by ``entities_to_html``. Because the
plain text is what Telegram counts after parsing the HTML, a chunk never exceeds the limit.

Raw HTML in the Markdown (``a <b> c``, a ``<div>`` line) would be dropped by the converter, so it is
escaped first and shows literally: nothing the model wrote is lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from html import escape

import pyromark
from telegramify_markdown import MessageEntity, RenderConfig, convert, split_entities

from pyclaw.controlplane_telegram._html import Entity, entities_to_html

TELEGRAM_LIMIT = 4096
INLINE_RENDER = 1500
"""Texts shorter than this are rendered on the event loop (well under a millisecond)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message: ``html`` for ``parse_mode=HTML``, ``text`` the same without formatting."""

    text: str
    html: str


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram measures text and entity offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@cache
def _config() -> RenderConfig:
    return RenderConfig.isolated()


def escape_raw_html(markdown: str) -> str:
    """Backslash-escape every ``<`` the parser would read as raw HTML (inline or block)."""
    options = (
        pyromark.Options.ENABLE_TABLES
        | pyromark.Options.ENABLE_STRIKETHROUGH
        | pyromark.Options.ENABLE_TASKLISTS
        | pyromark.Options.ENABLE_MATH
    )
    for _ in range(4):  # escaping can, rarely, expose HTML the first parse did not see
        data = markdown.encode("utf-8")
        cuts: list[int] = []
        for event, span in pyromark.events_with_range(markdown, options=options):
            if isinstance(event, dict) and ("InlineHtml" in event or "Html" in event):
                cuts.extend(
                    span["start"] + i
                    for i, byte in enumerate(data[span["start"] : span["end"]])
                    if byte == 0x3C  # "<"
                )
        if not cuts:
            return markdown
        parts: list[bytes] = []
        last = 0
        for cut in sorted(set(cuts)):
            parts.extend((data[last:cut], b"\\"))
            last = cut
        parts.append(data[last:])
        markdown = b"".join(parts).decode("utf-8")
    return markdown


def markdown_text(markdown: str) -> tuple[str, list[Entity]]:
    """The plain text and entities Telegram should show for ``markdown``."""
    text, entities = convert(escape_raw_html(markdown), latex_escape=False, config=_config())
    return text, [
        Entity(e.type, e.offset, e.length, e.url, e.language, e.custom_emoji_id) for e in entities
    ]


def split(text: str, entities: list[Entity], limit: int) -> list[tuple[str, list[Entity]]]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-16 units, clipping entities into each."""
    pieces = split_entities(
        text,
        [
            MessageEntity(
                type=e.type,
                offset=e.offset,
                length=e.length,
                url=e.url,
                language=e.language,
                custom_emoji_id=e.custom_emoji_id,
            )
            for e in entities
        ],
        limit,
    )
    return [
        (
            piece,
            [
                Entity(e.type, e.offset, e.length, e.url, e.language, e.custom_emoji_id)
                for e in ents
            ],
        )
        for piece, ents in pieces
    ]


def render_markdown(markdown: str, limit: int = TELEGRAM_LIMIT) -> list[Chunk]:
    """Markdown as Telegram HTML chunks, each at most ``limit`` UTF-16 units once parsed."""
    text, entities = markdown_text(markdown)
    if not text.strip():
        return render_plain(markdown, limit)
    return [
        Chunk(piece, entities_to_html(piece, ents)) for piece, ents in split(text, entities, limit)
    ]


async def render(text: str, limit: int = TELEGRAM_LIMIT, *, plain: bool = False) -> list[Chunk]:
    """``render_markdown`` (or ``render_plain``) off the event loop when the text is long.

    Rendering costs about 3 ms per 1,000 characters: a long reply is rendered in a thread.
    """
    if len(text) < INLINE_RENDER:
        return render_plain(text, limit) if plain else render_markdown(text, limit)
    if plain:
        return await asyncio.to_thread(render_plain, text, limit)
    return await asyncio.to_thread(render_markdown, text, limit)


def render_plain(text: str, limit: int = TELEGRAM_LIMIT) -> list[Chunk]:
    """Unformatted text in chunks (split at line breaks when possible)."""
    return [Chunk(piece, escape(piece, quote=False)) for piece, _ in split(text, [], limit)]
