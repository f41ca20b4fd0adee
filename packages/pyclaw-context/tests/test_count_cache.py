"""The persistent cache of exact token counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pyclaw.context import AutoCounter, CountCache, count_stable

TEXT = "A stable text that recurs in every process: a tool schema, say. " * 3


def test_counts_survive_a_new_cache_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "counts.json"
    CountCache(path).put("o200k_base", TEXT, 42)
    again = CountCache(path)
    assert again.get("o200k_base", TEXT) == 42
    assert again.get("cl100k_base", TEXT) is None, "keyed by encoding"
    assert again.get("o200k_base", TEXT + " ") is None
    assert TEXT not in path.read_text(), "only hashes are stored"
    assert [p.name for p in tmp_path.iterdir()] == ["counts.json"], "no temporary file left"


def test_short_texts_are_not_remembered(tmp_path: Path) -> None:
    cache = CountCache(tmp_path / "counts.json")
    cache.put("o200k_base", "hi", 1)
    assert cache.get("o200k_base", "hi") is None
    assert not (tmp_path / "counts.json").exists()


@pytest.mark.parametrize(
    "content",
    [b"not json{", b"[1, 2]", b'{"version": 99, "counts": {}}', b'{"version": 1, "counts": 3}'],
)
def test_a_corrupt_file_is_an_empty_cache_and_is_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "counts.json"
    path.write_bytes(content)
    cache = CountCache(path)
    assert cache.get("o200k_base", TEXT) is None
    cache.put("o200k_base", TEXT, 7)
    assert CountCache(path).get("o200k_base", TEXT) == 7


def test_bad_entries_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "counts.json"
    cache = CountCache(path)
    cache.put("o200k_base", TEXT, 7)
    data = json.loads(path.read_text())
    key = next(iter(data["counts"]))
    data["counts"] = {key: -1, "other": "x", "flag": True}
    path.write_text(json.dumps(data))
    assert CountCache(path).get("o200k_base", TEXT) is None


def test_the_oldest_entries_go_beyond_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "counts.json"
    cache = CountCache(path, max_entries=3)
    texts = [f"{i} {TEXT}" for i in range(5)]
    for i, text in enumerate(texts):
        cache.put("o200k_base", text, i)
    fresh = CountCache(path)
    assert [fresh.get("o200k_base", t) for t in texts] == [None, None, 2, 3, 4]
    assert len(json.loads(path.read_text())["counts"]) == 3


def test_two_writers_merge(tmp_path: Path) -> None:
    path = tmp_path / "counts.json"
    first, second = CountCache(path), CountCache(path)
    first.get("o200k_base", TEXT)  # both read the (empty) file before either writes
    second.get("o200k_base", TEXT)
    first.put("o200k_base", "first " + TEXT, 1)
    second.put("o200k_base", "second " + TEXT, 2)
    merged = CountCache(path)
    assert merged.get("o200k_base", "first " + TEXT) == 1
    assert merged.get("o200k_base", "second " + TEXT) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_keeps_counts_in_memory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        cache = CountCache(locked / "counts.json")
        cache.put("o200k_base", TEXT, 5)
        assert cache.get("o200k_base", TEXT) == 5
        assert not (locked / "counts.json").exists()
    finally:
        locked.chmod(0o700)


def test_a_file_in_the_way_keeps_counts_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = CountCache(blocker / "sub" / "counts.json")
    cache.put("o200k_base", TEXT, 5)
    assert cache.get("o200k_base", TEXT) == 5


def test_the_default_file_is_in_the_pyclaw_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCLAW_CACHE_DIR", str(tmp_path))
    CountCache().put("o200k_base", TEXT, 3)
    assert (tmp_path / "token-counts.json").is_file()


def test_count_stable_remembers_exact_counts_and_count_uses_them(tmp_path: Path) -> None:
    path = tmp_path / "counts.json"
    loaded = AutoCounter(cache_dir=tmp_path / "bpe", counts=CountCache(path))
    exact = count_stable(loaded, TEXT)
    assert loaded.ready
    fresh = AutoCounter(cache_dir=tmp_path / "bpe", counts=CountCache(path))
    assert fresh.bound(TEXT) == exact
    assert fresh.count(TEXT) == exact
    assert not fresh.ready, "a remembered count needs no encoding"
    assert fresh.bound("unknown text") == len(b"unknown text")
    assert not fresh.ready
