"""The bench harness: discovery, row validation, failures as ✗ rows, JSON report; cli_start's maths."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest
from bench import _harness, cli_start
from bench._harness import BenchResult, Row
from rich.console import Console


@pytest.fixture
def fake_benches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway bench package with a good, a raising and a malformed module."""
    package = tmp_path / "fakebench"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_private.py").write_text("raise RuntimeError('never imported')\n")
    (package / "good.py").write_text(
        textwrap.dedent(
            """
            def run(quick):
                return [
                    {"name": "speed", "value": 12.5, "unit": "ms", "target": "< 20", "ok": True,
                     "detail": "quick" if quick else "full"},
                    {"name": "size", "value": 3, "unit": "MB", "target": None, "ok": None},
                ]
            """
        )
    )
    (package / "broken.py").write_text("def run(quick):\n    raise OSError('disk on fire')\n")
    (package / "malformed.py").write_text(
        "def run(quick):\n    return [{'name': 'x', 'value': 'fast'}]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # pyright: ignore[reportUnknownMemberType] - pytest leaves `path` unannotated
    return package


def test_discover_lists_public_modules(fake_benches: Path) -> None:
    assert _harness.discover(fake_benches) == ["broken", "good", "malformed"]


def test_discover_finds_the_real_benches() -> None:
    assert "cli_start" in _harness.discover()


def test_good_module_rows(fake_benches: Path) -> None:
    result = _harness.run_module("good", quick=True, package="fakebench")
    assert result.error is None
    assert [r.name for r in result.rows] == ["speed", "size"]
    assert result.rows[0].extra == {"detail": "quick"}
    assert result.rows[1].value == 3.0


def test_raising_module_becomes_an_error(fake_benches: Path) -> None:
    result = _harness.run_module("broken", quick=False, package="fakebench")
    assert result.error == "OSError: disk on fire"
    assert result.rows == []


def test_malformed_rows_become_an_error(fake_benches: Path) -> None:
    result = _harness.run_module("malformed", quick=False, package="fakebench")
    assert result.error is not None
    assert "'unit' must be" in result.error


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "x", "value": True, "unit": "ms"},
        {"name": "x", "value": 1, "unit": "ms", "ok": "yes"},
        {"name": "x", "value": 1, "unit": "ms", "target": ["<", 1]},
        ["not", "a", "dict"],
    ],
)
def test_row_parse_rejects_bad_rows(raw: object) -> None:
    with pytest.raises(TypeError):
        Row.parse(raw)


def test_render_shows_failures_as_cross_rows() -> None:
    results = [
        BenchResult(
            "good",
            rows=[Row("speed", 12.5, "ms", "< 20", True), Row("slow", 300, "ms", "< 150", False)],
        ),
        BenchResult("broken", error="OSError: disk on fire"),
    ]
    buffer = io.StringIO()
    _harness.render(results, Console(file=buffer, width=200, color_system=None))
    lines = buffer.getvalue().splitlines()
    assert any("speed" in line and "12.5" in line and "✓" in line for line in lines)
    assert any("slow" in line and "300" in line and "✗" in line for line in lines)
    assert any("broken" in line and "disk on fire" in line and "✗" in line for line in lines)


def test_main_writes_json_and_exits_1_on_a_failed_bench(
    fake_benches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latest = tmp_path / "results" / "latest.json"
    monkeypatch.setattr(_harness, "RESULTS", latest)
    monkeypatch.setattr(_harness, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(_harness, "discover", lambda: ["good", "broken"])
    real_run_module = _harness.run_module

    def run_fake(name: str, *, quick: bool) -> BenchResult:
        return real_run_module(name, quick=quick, package="fakebench")

    monkeypatch.setattr(_harness, "run_module", run_fake)
    out = tmp_path / "out.json"
    assert _harness.main(["--quick", "--json", str(out)]) == 1
    report = json.loads(latest.read_text())
    assert report == json.loads(out.read_text())
    assert report["quick"] is True
    assert report["machine"]["cpu_count"] >= 1
    assert report["machine"]["python"] == ".".join(map(str, sys.version_info[:3]))
    by_module = {b["module"]: b for b in report["benches"]}
    assert by_module["broken"]["error"] == "OSError: disk on fire"
    assert by_module["good"]["rows"][0] == {
        "name": "speed",
        "value": 12.5,
        "unit": "ms",
        "target": "< 20",
        "ok": True,
        "detail": "quick",
    }
    assert _harness.main(["--only", "good"]) == 0
    assert _harness.main(["--only", "nope"]) == 2


def test_percentiles() -> None:
    samples = [cli_start.Sample(ms / 1000, 0) for ms in range(1, 21)]
    assert cli_start.median_ms(samples) == pytest.approx(10.5)
    assert cli_start.p90_ms(samples) == pytest.approx(18.1)


def test_spawn_measures_time_and_memory() -> None:
    sample = cli_start.spawn(
        [sys.executable, "-c", "x = bytearray(64 * 2**20); x[::4096] = b'1' * len(x[::4096])"]
    )
    assert 0 < sample.seconds < 30
    assert sample.max_rss_bytes >= 64 * 2**20


def test_spawn_reports_a_failing_command() -> None:
    with pytest.raises(RuntimeError, match="exited 3"):
        cli_start.spawn([sys.executable, "-c", "raise SystemExit(3)"])
