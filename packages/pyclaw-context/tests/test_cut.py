"""Cutting texts by tokens with one encoding (``PrefixCounter``), and the summarizer built on it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyclaw.context import (
    AutoCounter,
    EstimateCounter,
    ExtractiveSummarizer,
    PrefixCounter,
    TiktokenCounter,
    render_events,
    synthetic_session,
    truncate_to_tokens,
)
from pyclaw.context import _tokens as tokens_module
from pyclaw.context._summarize import line_count, message_lines

PIECES = [
    "PyClaw keeps agents hot. ",
    "Привет, как дела? ",
    "今天天气很好。",
    "🙂",
    "e\u0301",  # a combining accent
    '{"id": 12, "ok": true}',
    "   ",
    "\n",
    "https://example.com/a?b=c ",
    "1234567",
    "x",
]
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@pytest.fixture(scope="module")
def tiktoken_counter(tmp_path_factory: pytest.TempPathFactory) -> TiktokenCounter:
    counter = TiktokenCounter(cache_dir=tmp_path_factory.mktemp("tiktoken"))
    counter.prepare()
    return counter


class Searching:
    """The same tokenizer without ``count_and_cut``: ``truncate_to_tokens`` searches by counting."""

    def __init__(self, inner: TiktokenCounter) -> None:
        self.inner = inner
        self.name = inner.name

    def count(self, text: str) -> int:
        return self.inner.count(text)

    def prepare(self) -> None:
        self.inner.prepare()


class Recording(TiktokenCounter):
    """A tiktoken counter recording how many times it encodes a text."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir=cache_dir)
        self.encodings = 0

    def count(self, text: str) -> int:
        self.encodings += 1
        return len(self._get().encode_ordinary(text))

    def count_and_cut(self, text: str, tokens: int) -> tuple[int, int]:
        self.encodings += 1
        return super().count_and_cut(text, tokens)


def test_the_counters_that_can_cut() -> None:
    assert isinstance(TiktokenCounter(), PrefixCounter)
    assert isinstance(AutoCounter(), PrefixCounter)
    assert not isinstance(EstimateCounter(), PrefixCounter)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, keep=st.integers(min_value=-1, max_value=80))
def test_count_and_cut_gives_the_whole_characters_of_the_first_tokens(
    tiktoken_counter: TiktokenCounter, text: str, keep: int
) -> None:
    total, end = tiktoken_counter.count_and_cut(text, keep)
    assert total == tiktoken_counter.count(text)
    ids = tiktoken_counter._get().encode_ordinary(text)  # pyright: ignore[reportPrivateUsage]
    if total <= keep:
        assert end == len(text)
        return
    head = bytes(text[:end], "utf-8")
    kept = tiktoken_counter._get().decode_bytes(ids[: max(keep, 0)])  # pyright: ignore[reportPrivateUsage]
    assert kept.startswith(head)  # text[:end] lies within the kept tokens...
    assert len(kept) - len(head) < 4  # ...and only a character split by the last one is left out


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=texts, limit=st.integers(min_value=0, max_value=120), marker=st.sampled_from([" …", ""])
)
def test_truncate_by_token_matches_the_search_by_counting(
    tiktoken_counter: TiktokenCounter, text: str, limit: int, marker: str
) -> None:
    quick = truncate_to_tokens(tiktoken_counter, text, limit, marker)
    searched = truncate_to_tokens(Searching(tiktoken_counter), text, limit, marker)
    assert tiktoken_counter.count(quick) <= limit
    assert text.startswith(quick if quick == text else quick.removesuffix(marker))
    # never fewer tokens kept than the binary search (which BPE's non-monotonic counts can
    # mislead into a shorter cut); usually the very same text
    assert tiktoken_counter.count(quick) >= tiktoken_counter.count(searched)


def test_truncate_by_token_encodes_the_text_once_or_twice(tmp_path: Path) -> None:
    counter = Recording(tmp_path)
    text = "PyClaw is a local-first agent orchestration framework. " * 400
    counter.encodings = 0
    cut = truncate_to_tokens(counter, text, 300)
    assert counter.count(cut) <= 300 < counter.count(text)
    # marker, the text (with its cut), the check of the cut (and the two counts above)
    assert counter.encodings <= 3 + 2
    counter.encodings = 0
    truncate_to_tokens(Searching(counter), text, 300)  # pyright: ignore[reportArgumentType]
    assert counter.encodings > 10  # what the search by counting costs


def test_short_counts_are_remembered_up_to_a_bound(
    tiktoken_counter: TiktokenCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_module, "SHORT_ENTRIES", 8)
    encoding = tiktoken_counter._get()  # pyright: ignore[reportPrivateUsage]
    for i in range(40):
        text = f"call_{i} read_file"
        assert tiktoken_counter.count(text) == len(encoding.encode_ordinary(text))
        assert tiktoken_counter.count(text) == len(encoding.encode_ordinary(text))  # remembered
    assert len(tiktoken_counter._short) <= 8  # pyright: ignore[reportPrivateUsage]
    long = "word " * 100
    assert tiktoken_counter.count(long) == len(encoding.encode_ordinary(long))
    assert long not in tiktoken_counter._short  # pyright: ignore[reportPrivateUsage]
    assert tiktoken_counter.count("") == 0


@pytest.mark.parametrize("target", [20, 48, 300, 1024, 4000])
async def test_the_summarizer_stops_early_with_the_same_result(tmp_path: Path, target: int) -> None:
    counter = Recording(tmp_path)
    messages = render_events(synthetic_session(1_200, seed=3), counter)
    summarizer = ExtractiveSummarizer(counter)
    lines = [line for m in messages for line in message_lines(m)]
    assert sum(line_count(m) for m in messages) == len(lines)
    share = max(target // len(lines), 12)
    counter.encodings = 0
    summary = await summarizer.summarize(messages, target_tokens=target, level=0)
    lazy = counter.encodings
    every = summarizer.kept_lines(lines, share, enough=None)
    eager = truncate_to_tokens(counter, "\n".join(every), target)
    assert summary == eager
    assert counter.count(summary) <= target
    if target < 1000:  # far more lines than the target holds: most are never worked on
        assert lazy < len(lines) // 2


async def test_the_summarizer_falls_back_to_searching_for_other_counters() -> None:
    summarizer = ExtractiveSummarizer(EstimateCounter())
    rng = random.Random(5)
    messages = render_events(synthetic_session(300, seed=rng.randint(0, 9)), EstimateCounter())
    summary = await summarizer.summarize(messages, target_tokens=200, level=0)
    assert 0 < EstimateCounter().count(summary) <= 200
    assert summary.startswith("User: Turn 0")
