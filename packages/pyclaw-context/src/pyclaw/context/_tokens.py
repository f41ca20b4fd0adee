"""Token counters: exact (tiktoken, loaded offline), a conservative estimate, and the automatic pick.

The automatic pick (``AutoCounter``, what ``default_counter()`` returns) also gives upper bounds
without loading anything (``bound``) and remembers exact counts of stable texts across processes
(``count_stable``, see ``CountCache``): a process whose prompt fits by those bounds never loads
the tokenizer (~0.5 s and ~75 MB for ``o200k_base``).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pyclaw.context._bpe import TokenizerUnavailableError, load_encoding
from pyclaw.context._count_cache import CountCache

if TYPE_CHECKING:
    import tiktoken


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of a text. ``name`` says which tokenizer (e.g. ``tiktoken:o200k_base``)."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def prepare(self) -> None:
        """Load whatever the counter needs (blocking; call it from a thread). Idempotent."""
        ...


@runtime_checkable
class BoundingCounter(Protocol):
    """A counter that can bound a count without loading its tokenizer, and remember stable texts.

    Until ``ready`` (the tokenizer loaded or the fallback chosen), ``bound(text)`` is never below
    the tokenizer's exact count of ``text`` (and equals it when that count is remembered); once
    ``ready`` it is ``count(text)``. ``count_stable`` is
    ``count`` for texts that recur across processes (tool schemas, system prompts): their exact
    counts are remembered for ``bound`` (and ``count``) to use in later processes.
    """

    @property
    def ready(self) -> bool: ...

    def bound(self, text: str) -> int: ...

    def count_stable(self, text: str) -> int: ...


@runtime_checkable
class PrefixCounter(TokenCounter, Protocol):
    """A counter that can also say, from the one encoding it counts, where a text's first
    ``tokens`` tokens end: what lets ``truncate_to_tokens`` cut a text with one or two encodings
    instead of a binary search of many."""

    def count_and_cut(self, text: str, tokens: int) -> tuple[int, int] | None:
        """``(count(text), n)`` where ``text[:n]`` is the whole characters covered by the first
        ``tokens`` tokens of ``text`` (``n == len(text)`` when the text has no more tokens than
        that); ``None`` when this counter cannot tell (the caller then searches by counting)."""
        ...


class _Patterns:
    """The estimate's regexes, compiled on first use (a few ms that most processes never need)."""

    def __init__(self) -> None:
        self.word = re.compile(r"[a-z]+|[A-Z][a-z]*")
        self.digits = re.compile(r"[0-9]{1,3}")
        self.space_run = re.compile(r"\s+")
        self.long_space_run = re.compile(r"\s{2,}")
        self.symbol = re.compile(r"[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]")
        self.two_byte = re.compile(r"[\u0080-\u07ff]")
        self.three_byte = re.compile(r"[\u0800-\uffff]")
        self.four_byte = re.compile(r"[\U00010000-\U0010ffff]")


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


class EstimateCounter:
    """A tokenizer-free estimate that errs high: about 1.2-1.8x tiktoken on prose, code and JSON.

    Each word piece (a lowercase run or a capitalized word) costs 1 token plus one per 5 letters,
    each ASCII symbol 0.8, each group of up to 3 digits 1, whitespace 0.3 per run plus 0.25 per
    extra character, non-ASCII characters 0.6, 1.5 or 3 by UTF-8 length. Random strings (hashes,
    base64) can come out up to ~10% under the real count. Regex passes only: fast enough to count
    megabytes.
    """

    name = "estimate"

    def count(self, text: str) -> int:
        if not text:
            return 0
        p = _patterns()
        words = p.word.findall(text)
        total = len(words) + sum(map(len, words)) / 5
        total += len(p.digits.findall(text)) + 0.8 * len(p.symbol.findall(text))
        runs = p.space_run.findall(text)
        total += 0.3 * len(runs) + 0.25 * (sum(map(len, runs)) - len(runs))
        total += 0.2 * len(p.long_space_run.findall(text))
        if not text.isascii():
            total += 0.6 * len(p.two_byte.findall(text)) + 1.5 * len(p.three_byte.findall(text))
            total += 3.0 * len(p.four_byte.findall(text))
        return math.ceil(total)

    def prepare(self) -> None:
        return None


SHORT_CHARS = 64
"""Texts up to this long have their counts remembered by ``TiktokenCounter`` (a dict lookup
instead of a call into the tokenizer: most of such a count's cost)."""
SHORT_ENTRIES = 65_536
"""Remembered short counts before the memo starts over (a few MB at most)."""


class TiktokenCounter:
    """Exact counts with a tiktoken encoding (``o200k_base`` or ``cl100k_base``), loaded offline.

    The encoding is loaded on first use (or ``prepare()``), never at import; a failure raises
    ``TokenizerUnavailableError``. ``cache_dir`` defaults to ``<PyClaw cache>/tiktoken``.
    """

    def __init__(self, encoding: str = "o200k_base", *, cache_dir: Path | None = None) -> None:
        self.encoding_name = encoding
        self._cache_dir = cache_dir
        self._encoding: tiktoken.Encoding | None = None
        self._lock = threading.Lock()
        self._short: dict[str, int] = {}
        """Counts of short texts (tool names, call ids, stock phrases recur in every turn)."""

    @property
    def name(self) -> str:
        return f"tiktoken:{self.encoding_name}"

    def prepare(self) -> None:
        self._get()

    def _get(self) -> tiktoken.Encoding:
        encoding = self._encoding
        if encoding is None:
            with self._lock:
                if self._encoding is None:
                    self._encoding = load_encoding(self.encoding_name, self._cache_dir)
                encoding = self._encoding
        return encoding

    def count(self, text: str) -> int:
        if len(text) > SHORT_CHARS:
            return len(self._get().encode_ordinary(text))
        short = self._short
        tokens = short.get(text)
        if tokens is None:
            if not text:
                return 0
            if len(short) >= SHORT_ENTRIES:
                short.clear()
            tokens = short[text] = len(self._get().encode_ordinary(text))
        return tokens

    def count_and_cut(self, text: str, tokens: int) -> tuple[int, int]:
        """See ``PrefixCounter``: one encoding, and one decoding of the kept tokens when cut."""
        if not text:
            return 0, 0
        encoding = self._get()
        ids = encoding.encode_ordinary(text)
        if len(ids) <= tokens:
            return len(ids), len(text)
        if tokens <= 0:
            return len(ids), 0
        # The kept tokens' bytes are a prefix of the text's UTF-8; a character split by the last
        # token is dropped. (tiktoken encodes a lone surrogate as U+FFFD: still one character.)
        head = encoding.decode_bytes(ids[:tokens]).decode("utf-8", "ignore")
        return len(ids), len(head)


class AutoCounter:
    """tiktoken when it loads offline, else ``EstimateCounter``; decided on first use.

    ``backend`` (``"tiktoken"`` or ``"estimate"``) says which one is counting and ``fallback_reason``
    why the estimate was chosen. Reading either resolves the choice (loading the encoding).

    It is also a ``BoundingCounter``: ``bound`` never loads the encoding (the UTF-8 length of a
    text is an upper bound of its BPE token count: every token is at least one byte), and exact
    counts of stable texts are kept in ``counts`` (a ``CountCache``, by default
    ``<PyClaw cache>/token-counts.json``), which ``count`` and ``bound`` consult before loading
    anything or falling back to bytes.
    """

    def __init__(
        self,
        encoding: str = "o200k_base",
        *,
        cache_dir: Path | None = None,
        counts: CountCache | None = None,
    ) -> None:
        self.encoding = encoding
        self.counts = counts if counts is not None else CountCache()
        self._tiktoken = TiktokenCounter(encoding, cache_dir=cache_dir)
        self._chosen: TokenCounter | None = None
        self._reason: str | None = None
        self._lock = threading.Lock()

    def _resolve(self) -> TokenCounter:
        chosen = self._chosen
        if chosen is None:
            with self._lock:
                if self._chosen is None:
                    try:
                        self._tiktoken.prepare()
                        self._chosen = self._tiktoken
                    except TokenizerUnavailableError as exc:
                        self._reason = exc.message
                        self._chosen = EstimateCounter()
                chosen = self._chosen
        return chosen

    @property
    def backend(self) -> Literal["tiktoken", "estimate"]:
        return "estimate" if isinstance(self._resolve(), EstimateCounter) else "tiktoken"

    @property
    def fallback_reason(self) -> str | None:
        self._resolve()
        return self._reason

    @property
    def name(self) -> str:
        return self._resolve().name

    @property
    def ready(self) -> bool:
        """Whether the choice is made (``count`` will not load anything)."""
        return self._chosen is not None

    def prepare(self) -> None:
        self._resolve()

    def count(self, text: str) -> int:
        if self._chosen is self._tiktoken:
            return self._tiktoken.count(text)
        known = self.counts.get(self.encoding, text)
        return known if known is not None else self._resolve().count(text)

    def count_stable(self, text: str) -> int:
        """``count(text)`` for a text that recurs across processes: an exact count is remembered."""
        known = self.counts.get(self.encoding, text)
        if known is not None:
            return known
        tokens = self._resolve().count(text)
        if self._chosen is self._tiktoken:
            self.counts.put(self.encoding, text, tokens)
        return tokens

    def count_and_cut(self, text: str, tokens: int) -> tuple[int, int] | None:
        """See ``PrefixCounter``; ``None`` when the estimate is counting."""
        if self._resolve() is self._tiktoken:
            return self._tiktoken.count_and_cut(text, tokens)
        return None

    def bound(self, text: str) -> int:
        """An upper bound of ``count(text)`` that never loads the encoding: the count itself once
        ``ready`` or remembered, else the text's length in UTF-8 bytes."""
        if self._chosen is not None:
            return self.count(text)
        if not text:
            return 0
        known = self.counts.get(self.encoding, text)
        return known if known is not None else len(text.encode("utf-8", "surrogatepass"))


def default_counter(encoding: str = "o200k_base", *, cache_dir: Path | None = None) -> AutoCounter:
    """The counter PyClaw uses unless told otherwise: tiktoken offline, else the estimate."""
    return AutoCounter(encoding, cache_dir=cache_dir)
