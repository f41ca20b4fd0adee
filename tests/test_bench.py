"""The bench harness: discovery, row validation, failures as ✗ rows, JSON report; cli_start's maths;
the agent-stack benches run small (quick sizes) with their rows checked as the harness would."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import sys
import textwrap
from pathlib import Path

import pytest
from bench import (
    _common,
    _harness,
    agent,
    chat,
    cli_start,
    context,
    daemon,
    memory,
    policy,
    replay,
    safety,
)
from bench._harness import BenchResult, Row
from rich.console import Console

from pyclaw.meta import LLMRequest, Message, ToolCall, ToolSpec


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


# -- the agent-stack benches: each measured small, its rows checked as the harness would ----------

NEW_BENCHES = {"agent", "chat", "context", "daemon", "memory", "policy", "replay", "safety"}


def check_rows(raw: list[dict[str, object]], *counts: int) -> list[Row]:
    """Rows the harness accepts (as many as one of ``counts``): numbers >= 0, distinct names, a
    detail, and a target always with an ok verdict."""
    rows = [Row.parse(item) for item in raw]
    assert len(rows) in counts
    assert len({r.name for r in rows}) == len(rows)
    for r in rows:
        assert r.value >= 0, r
        assert (r.target is None) == (r.ok is None), r
        assert isinstance(r.extra.get("detail"), str), r
    return rows


def test_discover_finds_the_agent_stack_benches() -> None:
    assert set(_harness.discover()) >= NEW_BENCHES


def test_common_percentiles_and_rows() -> None:
    samples = [float(ms) for ms in range(1, 21)]
    assert _common.p50(samples) == pytest.approx(10.5)
    assert _common.p90(samples) == pytest.approx(18.1)
    assert _common.p90([4.0]) == 4.0
    assert _common.row("x", 3.0, "ms", below=5)["ok"] is True
    assert _common.row("x", 7.0, "ms", below=5)["target"] == "< 5"
    assert _common.row("x", 7.0, "ms", below=5)["ok"] is False
    assert _common.row("x", 7.0, "ms")["ok"] is None


def test_scratch_home_points_the_home_away_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYCLAW_HOME", "/nowhere/home")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    with _common.scratch_home("pyclaw-test-") as root:
        assert os.environ["PYCLAW_HOME"] == str(root / "home")
        assert os.environ["XDG_DATA_HOME"].startswith(str(root))
    assert os.environ["PYCLAW_HOME"] == "/nowhere/home"
    assert "XDG_DATA_HOME" not in os.environ
    assert not root.exists()


def test_agent_instant_model_calls_the_tool_only_when_asked() -> None:
    spec = ToolSpec(name=agent.NOOP, description="no-op")
    ask = LLMRequest(model="m", messages=(Message.user("please use the tool"),), tools=(spec,))
    answer = agent.reply(ask)
    assert isinstance(answer, ToolCall)
    assert answer.name == agent.NOOP
    assert agent.reply(ask.model_copy(update={"tools": ()})) == "Done."
    chat = LLMRequest(model="m", messages=(Message.user("hello"),), tools=(spec,))
    assert agent.reply(chat) == "Done."


async def test_agent_bench_runs_turns_through_the_runtime() -> None:
    with _common.scratch_home("pyclaw-test-agent-"):
        sqlite = await agent.measure(2, in_memory=False, warmup=1)
    with _common.scratch_home("pyclaw-test-agent-mem-"):
        memory = await agent.measure(2, in_memory=True, warmup=1)
    assert set(sqlite) == set(memory) == {"text/long", "text/fresh", "tool/long", "tool/fresh"}
    assert all(len(times) == 2 and min(times) > 0 for times in sqlite.values())
    rows = check_rows(agent.rows_for(sqlite, memory, warmup=1), 12)
    targets = {r.name: r.target for r in rows if r.target is not None}
    assert targets == {
        "text turn p50 (one long session)": "< 5",
        "text turn p50 (new session each)": "< 5",
        "one-tool turn p50 (one long session)": "< 10",
        "one-tool turn p50 (new session each)": "< 10",
    }


async def test_context_bench_compacts_then_builds() -> None:
    rows = check_rows(await context.measure(1_000, compactions=1, builds=2, turns=3), 7, 8)
    by_name = {r.name: r for r in rows}
    assert by_name["build p50, long-lived builder"].target == "< 50"
    assert "summaries made" in str(
        by_name["first build of the raw session (compacts it all)"].extra
    )


async def test_policy_bench_checks_grants(tmp_path: Path) -> None:
    rows = check_rows(await policy.measure(tmp_path, calls=20, grants=50), 5)
    assert rows[0].unit == "us"
    assert "50 live grants" in str(rows[0].extra["detail"])


async def test_memory_bench_searches(tmp_path: Path) -> None:
    rows = check_rows(await memory.measure(tmp_path, queries=5, memories=300, others=50), 4)
    assert "300 memories of the agent" in str(rows[0].extra["detail"])


def test_memory_corpus_is_seeded() -> None:
    assert memory.Corpus(3).text(5, 9) == memory.Corpus(3).text(5, 9)


def test_safety_bench_redacts_and_wraps() -> None:
    check_rows(safety.measure(runs=2, size=5_000), 5)


def test_safety_text_with_secrets_holds_every_secret() -> None:
    rng = random.Random(1)
    secrets = safety.make_secrets(rng)
    text = safety.with_secrets(safety.log_text(rng, 2_000), secrets, rng)
    assert len(secrets) == safety.SECRETS
    assert text.count(" auth=") == safety.SECRETS


def test_chat_bench_runs_the_cli_against_the_instant_server() -> None:
    rows = check_rows(chat.measure(runs=1, warmups=0), 4)
    assert rows[2].unit == "MB"
    assert rows[2].value > 8


def test_daemon_bench_runs_the_real_daemon_against_the_fakes() -> None:
    rows = check_rows(daemon.run(quick=True), 10)
    by_name = {r.name: r for r in rows}
    targets = {r.name: r.target for r in rows if r.target is not None}
    assert targets == {
        "ready, median": "< 1000",
        "idle RSS with Telegram": "< 80",
        "latency added, p50": "< 20",
    }
    assert by_name["idle RSS with Telegram"].value > 8
    assert by_name["idle RSS, first daemon in a new home"].value > 8
    assert by_name["throughput"].value > 0
    assert by_name["ready, median"].value > 0
    assert 0 < by_name["latency added, p50"].value <= by_name["latency added, p90"].value


def test_replay_bench_replays_a_recorded_session_strictly() -> None:
    seconds, cases, passed, events = asyncio.run(replay.measure(12))
    assert cases == passed == 12
    assert events == 12 * 11
    assert seconds > 0
