"""Token counters: exact (tiktoken, loaded offline), a conservative estimate, and the automatic pick."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pyclaw.context._bpe import TokenizerUnavailableError, load_encoding

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


_WORD = re.compile(r"[a-z]+|[A-Z][a-z]*")
_DIGITS = re.compile(r"[0-9]{1,3}")
_SPACE_RUN = re.compile(r"\s+")
_LONG_SPACE_RUN = re.compile(r"\s{2,}")
_SYMBOL = re.compile(r"[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]")
_TWO_BYTE = re.compile(r"[\u0080-\u07ff]")
_THREE_BYTE = re.compile(r"[\u0800-\uffff]")
_FOUR_BYTE = re.compile(r"[\U00010000-\U0010ffff]")


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
        words = _WORD.findall(text)
        total = len(words) + sum(map(len, words)) / 5
        total += len(_DIGITS.findall(text)) + 0.8 * len(_SYMBOL.findall(text))
        runs = _SPACE_RUN.findall(text)
        total += 0.3 * len(runs) + 0.25 * (sum(map(len, runs)) - len(runs))
        total += 0.2 * len(_LONG_SPACE_RUN.findall(text))
        if not text.isascii():
            total += 0.6 * len(_TWO_BYTE.findall(text)) + 1.5 * len(_THREE_BYTE.findall(text))
            total += 3.0 * len(_FOUR_BYTE.findall(text))
        return math.ceil(total)

    def prepare(self) -> None:
        return None


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
        return len(self._get().encode_ordinary(text)) if text else 0


class AutoCounter:
    """tiktoken when it loads offline, else ``EstimateCounter``; decided on first use.

    ``backend`` (``"tiktoken"`` or ``"estimate"``) says which one is counting and ``fallback_reason``
    why the estimate was chosen. Reading either resolves the choice (loading the encoding).
    """

    def __init__(self, encoding: str = "o200k_base", *, cache_dir: Path | None = None) -> None:
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

    def prepare(self) -> None:
        self._resolve()

    def count(self, text: str) -> int:
        return self._resolve().count(text)


def default_counter(encoding: str = "o200k_base", *, cache_dir: Path | None = None) -> AutoCounter:
    """The counter PyClaw uses unless told otherwise: tiktoken offline, else the estimate."""
    return AutoCounter(encoding, cache_dir=cache_dir)
