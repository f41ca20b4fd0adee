"""Query parsing: every text becomes a safe FTS5 expression of plain words."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclaw.memory import STOP_WORDS, fts_query, normalize_text, search_terms
from pyclaw.memory._text import MAX_TERM_CHARS, MAX_TERMS


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (text, tags, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    conn.execute("INSERT INTO t VALUES ('near and or not coffee', 'text tags')")
    yield conn
    conn.close()


def test_terms_are_lowercased_words_without_stop_words_or_repeats() -> None:
    assert search_terms("What is the CAPITAL of France? capital!") == ["capital", "france"]
    assert search_terms("snake_case x-ray C++ v2.0") == [
        "snake",
        "case",
        "x",
        "ray",
        "c",
        "v2",
        "0",
    ]
    assert search_terms("Ｆｕｌｌｗｉｄｔｈ") == ["fullwidth"]
    assert search_terms("the and of it") == []
    assert all(word == word.casefold() for word in STOP_WORDS)


def test_terms_are_capped_in_number_and_length() -> None:
    many = " ".join(f"w{i}" for i in range(MAX_TERMS * 3))
    assert search_terms(many) == [f"w{i}" for i in range(MAX_TERMS)]
    assert search_terms("a" * (MAX_TERM_CHARS + 1) + " short") == ["short"]


def test_fts_query_quotes_every_term_and_doubles_quotes() -> None:
    assert fts_query(["near", "coffee"]) == '"near" OR "coffee"'
    assert fts_query(['say "hi"']) == '"say ""hi"""'
    assert fts_query([]) == ""


def test_operator_words_are_literals(fts: sqlite3.Connection) -> None:
    for query in ("NEAR", "NEAR(near", "NOT coffee", "text:coffee", "tags", "{text}: coffee"):
        match = fts_query(search_terms(query))
        assert conn_count(fts, match) == 1, query
    for operator in ("AND", "OR", "NOT"):  # stop words in queries, but literals even when sent
        assert conn_count(fts, fts_query([operator])) == 1


def conn_count(conn: sqlite3.Connection, match: str) -> int:
    return int(conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match,)).fetchone()[0])


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_valid_match_expression(fts: sqlite3.Connection, text: str) -> None:
    match = fts_query(search_terms(text))
    if match:
        assert conn_count(fts, match) in (0, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5))
def test_even_raw_terms_cannot_escape_their_quotes(
    fts: sqlite3.Connection, terms: list[str]
) -> None:
    error = ""
    try:
        count = conn_count(fts, fts_query(terms))
    except sqlite3.OperationalError as exc:
        # a term of only separators is an empty phrase; that is the only error FTS5 may raise
        error = str(exc)
    else:
        assert count in (0, 1)
    assert "syntax error" not in error


def test_normalize_text_is_the_dedupe_key() -> None:
    assert normalize_text("  User  likes\tTEA. ") == normalize_text("user likes tea")
    assert normalize_text("Straße!") == normalize_text("STRASSE")
    assert normalize_text("likes tea") != normalize_text("likes coffee")
    assert normalize_text(" ... ") == ""
