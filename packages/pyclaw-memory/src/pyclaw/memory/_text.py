"""Turning free text into search terms, a safe FTS5 query, and a dedupe key.

User text never reaches FTS5's query language as written: it is cut into words (letters and digits
only, so quotes, ``*``, ``:``, ``^``, parentheses and every other operator character are dropped),
stop words are removed, and each remaining word is sent as a quoted string, the terms joined with
``OR``. A quoted string is always a literal to FTS5, so ``NEAR``, ``AND`` or ``col:`` are just words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TERMS = 64
"""At most this many distinct terms are taken from a query (the first ones), bounding the work."""

MAX_TERM_CHARS = 64
"""Longer "words" (hashes, base64 blobs) are dropped from queries: they are noise, not intent."""

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")
_TRAILING = ".!?;:,…"

_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves
    s t d ll m re ve
"""

STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
"""English function words dropped from queries.

Terms are OR-ed, so a query word that nearly every memory contains ("the", "is") would make every
memory a (weak) hit; dropping them keeps "what is the capital of France" a search for
``capital OR france``. Stored text keeps them (BM25 weighs common words down anyway).
"""


def words(text: str) -> list[str]:
    """The words of ``text``: NFKC-normalized, casefolded runs of letters and digits, in order."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def search_terms(query: str) -> list[str]:
    """The distinct, non-stop-word terms of ``query`` in order of first appearance (capped)."""
    terms: list[str] = []
    seen: set[str] = set()
    for word in words(query):
        if word in STOP_WORDS or word in seen or len(word) > MAX_TERM_CHARS:
            continue
        seen.add(word)
        terms.append(word)
        if len(terms) == MAX_TERMS:
            break
    return terms


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression matching any of ``terms``, each as a quoted literal string.

    Embedded double quotes are doubled (FTS5's escape), so even a term that is not a plain word
    stays a literal. Returns ``""`` for no terms (the caller must not run MATCH with it).
    """
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def fts_all_query(terms: Iterable[str]) -> str:
    """Like ``fts_query``, but matching only what has every one of ``terms`` (``AND``)."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def normalize_text(text: str) -> str:
    """The dedupe key of a memory's text: NFKC, casefolded, whitespace collapsed, trailing
    sentence punctuation dropped. ``"User likes tea."`` and ``"user  likes TEA"`` share a key."""
    folded = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return folded.rstrip(_TRAILING + " ")


def fold_diacritics(word: str) -> str:
    """``word`` without combining marks (``"café"`` → ``"cafe"``), as FTS5's ``remove_diacritics``."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
