"""``pyclaw eval replay|run --judge``: a session recorded through the real runtime (a scripted
model on 127.0.0.1), replayed with the real CLI while a fake Cortensor router judges each answer:
verdicts in the JSON and HTML reports, exit codes, a router outage, and no router configured."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.cli_harness import invoke

from pyclaw.llm.testing import FakeCortensorRouter, FakeOpenAIServer, FakeValidation
from pyclaw.meta import RunStatus
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config_load import load_config
from pyclaw.runtime._home import PyClawHome

KEY = "cortensor-judge-key-5e1d0b"
MODEL = (
    '[providers.fake]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
    'model = "scripted"\napi_key = "sk-judge-0123456789"\n'
    '[agents.main]\nprovider = "fake"\ntools = []\n'
)
TURNS = [("What is 6 x 7? (key cortensor-judge-key-5e1d0b)", "42"), ("And 6 x 8?", "47")]


def router_toml(base_url: str) -> str:
    return (
        f'[providers.router]\nkind = "cortensor"\nbase_url = "{base_url}"\n'
        f'api_key = "{KEY}"\nsession_id = 12\n'
    )


def configure(home: Path, router: FakeCortensorRouter | None = None) -> None:
    text = MODEL  # nothing listens on port 9: strict replays never call the model
    if router is not None:
        text += router_toml(router.base_url)
    (home / "pyclaw.toml").write_text(text)


async def record(home_dir: Path) -> str:
    home = PyClawHome.at(str(home_dir))
    home.ensure_layout()
    with FakeOpenAIServer([answer for _, answer in TURNS]) as server:
        # the router's key is a known secret while recording too (the guard redacts it from
        # the prompt), so the replay with the router configured is identical
        model = MODEL.replace("http://127.0.0.1:9/v1", server.base_url)
        (home_dir / "pyclaw.toml").write_text(model + router_toml("http://127.0.0.1:9"))
        async with AgentRuntime.open(home, load_config(home.config_path)) as rt:
            session, first = await rt.run_turn(TURNS[0][0], agent="main")
            _, second = await rt.run_turn(TURNS[1][0], agent="main", session_id=session.id)
    assert (first.status, second.status) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    return session.id


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    home = tmp_path / "home"
    monkeypatch.setenv("PYCLAW_HOME", str(home))
    return home, asyncio.run(record(home))


def arithmetic(body: dict[str, object]) -> FakeValidation:
    """A router whose validators know their tables: 42 holds, 47 does not."""
    if body.get("claim") == "42":
        return FakeValidation("VALID", score=0.95)
    return FakeValidation("INVALID", score=0.1, reasons=("6 x 8 is 48, not 47.",))


def test_replay_judge_records_pass_and_fail_verdicts(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    report, html = home.parent / "r.json", home.parent / "r.html"
    with FakeCortensorRouter(api_key=KEY, validator=arithmetic) as router:
        configure(home, router)
        args = ["--strict", "--judge", "cortensor", "--report", str(report), "--html", str(html)]
        result = invoke("eval", "replay", sid, *args)
        sent = [r for r in router.requests if r.path.endswith("/validate")]
    assert result.code == 1, result.err
    data = json.loads(report.read_text())
    verdicts = [c["attempts"][0]["judgement"] for c in data["cases"]]
    assert [(v["verdict"], v["score"], v["judge"]) for v in verdicts] == [
        ("VALID", 0.95, "router"),
        ("INVALID", 0.1, "router"),
    ]
    assert verdicts[1]["reasons"] == ["6 x 8 is 48, not 47."]
    assert [c["attempts"][0]["passed"] for c in data["cases"]] == [True, False]
    failed = [c for c in data["cases"][1]["attempts"][0]["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["judge"]  # the replay itself matched the recording
    assert data["settings"]["judge"] == "router"
    summary = data["summary"]
    assert (summary["judge_valid"], summary["judge_invalid"], summary["judge_inconclusive"]) == (
        1,
        1,
        0,
    )
    # what the router was asked: the replayed answer, the user's message, secrets redacted
    assert [r.body["claim"] for r in sent] == ["42", "47"]
    assert sent[1].body["context"] == "And 6 x 8?"
    assert sent[0].body["context"] == "What is 6 x 7? (key [REDACTED:providers.router.api_key])"
    assert sent[0].headers["authorization"] == f"Bearer {KEY}"
    assert "judge router: 1 valid, 1 invalid, 0 inconclusive" in result.err
    assert "judge: router judged the answer INVALID 0.10: 6 x 8 is 48, not 47." in result.err
    assert '<span class="fail">INVALID 0.10</span>' in html.read_text()


def test_all_valid_exits_0_and_names_the_router(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    with FakeCortensorRouter(api_key=KEY) as router:  # every claim VALID
        configure(home, router)
        result = invoke("eval", "replay", sid, "--strict", "--judge", "router", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [c["attempts"][0]["judgement"]["verdict"] for c in data["cases"]] == ["VALID"] * 2


def test_an_unreachable_router_fails_the_cases_clearly(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    with FakeCortensorRouter(api_key=KEY) as router:
        configure(home, router)
    # the router has stopped: nothing listens on its port any more
    result = invoke("eval", "replay", sid, "--strict", "--judge", "cortensor", "--json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    for case in data["cases"]:
        judgement = case["attempts"][0]["judgement"]
        assert judgement["verdict"] is None
        assert "connection failed" in judgement["error"]
        (check,) = [c for c in case["attempts"][0]["checks"] if not c["ok"]]
        assert check["detail"].startswith("router could not judge the answer: router: ")
    assert data["summary"]["judge_inconclusive"] == 2


def test_retry_is_inconclusive(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    with FakeCortensorRouter(api_key=KEY) as router:
        router.add_validation(FakeValidation("RETRY", reasons=("validators split",)))
        configure(home, router)
        result = invoke("eval", "replay", sid, "--strict", "--judge", "cortensor", "--json")
    assert result.code == 1
    first = json.loads(result.out)["cases"][0]["attempts"][0]
    assert first["judgement"]["verdict"] == "RETRY"
    assert [c["detail"] for c in first["checks"] if not c["ok"]] == [
        "router could not decide (RETRY 0.90): validators split"
    ]


def test_judge_without_a_router_is_a_usage_error(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    configure(home)
    result = invoke("eval", "replay", sid, "--strict", "--judge", "cortensor")
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith("pyclaw: error: --judge cortensor needs a Cortensor router: add ")
    assert 'kind = "cortensor"' in line
    wrong = invoke("eval", "replay", sid, "--strict", "--judge", "fake")
    assert wrong.code == 2
    assert "provider 'fake' is kind 'openai-compatible', not a Cortensor router" in wrong.err


def test_suite_run_is_judged(recorded: tuple[Path, str]) -> None:
    home, sid = recorded
    suite = home.parent / "suite.toml"
    suite.write_text(f'strict = true\n[[cases]]\nsession = "{sid}"\nturn = 1\n')
    with FakeCortensorRouter(api_key=KEY, validator=arithmetic) as router:
        configure(home, router)
        result = invoke("eval", "run", str(suite), "--judge", "cortensor", "--json")
    assert result.code == 0, result.err
    (case,) = json.loads(result.out)["cases"]
    assert case["attempts"][0]["judgement"]["verdict"] == "VALID"
