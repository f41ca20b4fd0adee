"""Token counting: tiktoken loaded offline from bundled files, the estimate, the automatic pick."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import tiktoken.load

from pyclaw.context import (
    AutoCounter,
    EstimateCounter,
    TiktokenCounter,
    TokenizerUnavailableError,
    default_counter,
    install_bpe_file,
    truncate_to_tokens,
)

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any tiktoken download attempt fail loudly."""

    def refuse(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)


@pytest.mark.usefixtures("no_network")
def test_tiktoken_loads_offline_into_a_sha1_named_cache(tmp_path: Path) -> None:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    counter = TiktokenCounter("o200k_base", cache_dir=tmp_path)
    assert counter.name == "tiktoken:o200k_base"
    assert not any(tmp_path.iterdir()), "nothing is loaded before first use"
    assert counter.count("hello world") == 2
    cached = tmp_path / hashlib.sha1(O200K_URL.encode()).hexdigest()
    assert cached.is_file()
    assert hashlib.sha256(cached.read_bytes()).hexdigest().startswith("446a9538")
    assert os.environ.get("TIKTOKEN_CACHE_DIR") == before, "the env var is set only for the load"


@pytest.mark.usefixtures("no_network")
def test_cl100k_also_loads_offline(tmp_path: Path) -> None:
    counter = TiktokenCounter("cl100k_base", cache_dir=tmp_path)
    assert counter.count("hello world") == 2
    assert counter.count("") == 0


def test_a_corrupt_cached_file_is_replaced(tmp_path: Path) -> None:
    path = install_bpe_file("cl100k_base", tmp_path)
    path.write_bytes(b"garbage")
    again = install_bpe_file("cl100k_base", tmp_path)
    assert again == path
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("223921b7")


def test_unknown_encoding_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        TokenizerUnavailableError, match="no offline BPE file for encoding 'p50k_base'"
    ):
        TiktokenCounter("p50k_base", cache_dir=tmp_path).count("x")


def test_auto_counter_uses_tiktoken_when_it_loads(tmp_path: Path) -> None:
    counter = default_counter(cache_dir=tmp_path)
    assert counter.backend == "tiktoken"
    assert counter.fallback_reason is None
    assert counter.count("hello world") == 2


def test_auto_counter_falls_back_to_the_estimate_without_bpe_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(package: str) -> Path:
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr("importlib.resources.files", missing)
    counter = AutoCounter("o200k_base", cache_dir=tmp_path / "empty")
    assert counter.backend == "estimate"
    assert counter.fallback_reason is not None
    assert "bundled BPE file" in counter.fallback_reason
    assert counter.name == "estimate"
    assert counter.count("hello world") == EstimateCounter().count("hello world")


def test_auto_counter_falls_back_when_the_cache_is_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    counter = AutoCounter("cl100k_base", cache_dir=blocker / "sub")
    assert counter.backend == "estimate"
    assert "cannot write the tiktoken cache" in (counter.fallback_reason or "")


SAMPLES = {
    "prose": (
        "PyClaw is a local-first agent orchestration framework. A long-running daemon keeps agents "
        "hot, takes messages from Telegram and the terminal, and records every turn. "
    )
    * 20,
    "code": "def f(x: int) -> int:\n    return x * 2  # double\n\nclass A:\n    pass\n" * 30,
    "json": json.dumps([{"id": i, "name": f"item{i}", "ok": i % 2 == 0} for i in range(200)]),
    "cyrillic": "Привет, как дела? Это тест русского текста. " * 20,
    "cjk": "今天天气很好，我们去公园散步吧。" * 20,
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_estimate_errs_high_on_ordinary_text(kind: str, tmp_path: Path) -> None:
    text = SAMPLES[kind]
    exact = max(
        TiktokenCounter("o200k_base", cache_dir=tmp_path).count(text),
        TiktokenCounter("cl100k_base", cache_dir=tmp_path).count(text),
    )
    estimate = EstimateCounter().count(text)
    assert exact <= estimate <= 2.5 * exact


def test_truncate_to_tokens_respects_the_limit(tmp_path: Path) -> None:
    counter = TiktokenCounter(cache_dir=tmp_path)
    text = SAMPLES["prose"]
    for limit in (1, 2, 5, 17, 100):
        cut = truncate_to_tokens(counter, text, limit)
        assert counter.count(cut) <= limit
        assert text.startswith(cut.removesuffix(" …"))
    assert truncate_to_tokens(counter, "short", 10) == "short"
    assert len(truncate_to_tokens(counter, text, 100)) > len(truncate_to_tokens(counter, text, 17))
