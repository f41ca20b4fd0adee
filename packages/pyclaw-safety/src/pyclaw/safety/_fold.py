"""Folding text to a skeleton for spotting spoofed boundary markers.

``fold`` maps text to upper-case ASCII wherever a character is a look-alike of one the markers use:
NFKC (fullwidth and mathematical letters, ``＜``), then accents and other combining marks dropped,
invisible format characters removed (zero-width, bidi controls, soft hyphen, BOM), Unicode *tag*
characters read as the ASCII they hide, and a small explicit table for Cyrillic, Greek and other
look-alikes of the marker letters and of angle brackets. It returns, for each folded character, the
index of the original character it came from, so a match in the folded text maps back to a span of
the original.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_LOOKALIKES: dict[str, str] = {
    "A": "АаΑαɑᴀ",
    "C": "СсϹϲᴄⅭⅽ",
    "D": "ԁᎠᴅⅮⅾ",
    "E": "ЕеΕεᴇ",
    "I": "ІіΙιӀӏıɪⅠⅰ",
    "L": "ᏞʟⅬⅼ",
    "N": "Νɴ",
    "O": "ОоΟοՕօᴏ",
    "R": "ʀᎡ",
    "S": "ЅѕꜱᏚ",
    "T": "ТтΤτᴛ",
    "U": "Սսυᴜ",
    "<": "‹〈«❮⟨˂ᐸ〈⟪❬﹤＜",
    ">": "›〉»❯⟩˃ᐳ〉⟫❭﹥＞",
}
"""Look-alikes of the letters in the marker words (UNTRUSTED, CONTENT, END, ID) and of ``<``/``>``.

Deliberately small: letters only need folding where they could spell a marker, and the brackets
include guillemets and the mathematical and CJK angle brackets."""

_TABLE: dict[str, str] = {c: target for target, chars in _LOOKALIKES.items() for c in chars}

_INVISIBLE = frozenset(
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x2060, 0x2065)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\ufeff", "\u00ad", "\u034f", "\u180e"]
)
"""Zero-width characters, word joiners, BOM, bidi controls, soft hyphen, grapheme joiner."""

_TAG_FIRST, _TAG_LAST = 0xE0020, 0xE007E
"""Unicode tag characters: invisible, but some models read them as the ASCII they shadow."""

_ASCII_OR_NOT = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]")


@functools.lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """The folded form of one non-ASCII character: upper-case ASCII where it is a look-alike,
    empty when it is invisible, otherwise the character's own upper-case skeleton."""
    code = ord(char)
    if _TAG_FIRST <= code <= _TAG_LAST:
        return chr(code - 0xE0000).upper()
    if char in _INVISIBLE:
        return ""
    out: list[str] = []
    for c in unicodedata.normalize("NFKC", char):
        if c in _TABLE:
            out.append(_TABLE[c])
            continue
        for d in unicodedata.normalize("NFKD", c):
            if d in _INVISIBLE or unicodedata.category(d) in ("Mn", "Me", "Cf"):
                continue
            for u in d.upper():
                out.append(_TABLE.get(u, u))
    return "".join(out)


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that folds each character, computing and keeping new ones."""

    def __missing__(self, key: int) -> str:
        value = fold_char(chr(key))
        self[key] = value
        return value


_FOLD_TABLE = _FoldTable({c: chr(c).upper() for c in range(128)})


def fold_text(text: str) -> str:
    """``text`` folded, without the index map: the same string ``fold`` returns, made faster."""
    return text.upper() if text.isascii() else text.translate(_FOLD_TABLE)


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded, and the original index of each folded character (``None`` when the two
    line up one to one, as they do for ASCII text)."""
    if text.isascii():
        return text.upper(), None
    pieces: list[str] = []
    origin: list[int] = []
    for m in _ASCII_OR_NOT.finditer(text):
        chunk = m.group(0)
        start = m.start()
        if chunk.isascii():
            pieces.append(chunk.upper())
            origin.extend(range(start, start + len(chunk)))
        else:
            folded = fold_char(chunk)
            pieces.append(folded)
            origin.extend([start] * len(folded))
    return "".join(pieces), origin


def original_span(origin: list[int] | None, start: int, end: int, size: int) -> tuple[int, int]:
    """The span of the original text behind ``folded[start:end]`` (``size`` is the original length)."""
    if origin is None:
        return start, end
    first = origin[start]
    last = origin[end - 1] + 1 if end > start else first
    # Invisible characters right before and after the match belong to it (they were folded away).
    while first > 0 and (start == 0 or origin[start - 1] < first - 1):
        first -= 1
    while last < size and (end >= len(origin) or last < origin[end]):
        last += 1
    return first, last
