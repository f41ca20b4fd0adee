"""``pyclaw cron add | list | rm | run`` as users run them.

Most commands run in-process through ``run`` (the CLI's real error handling); ``cron run`` runs as
a real process against ``FakeOpenAIServer`` on 127.0.0.1, like ``pyclaw chat`` in its tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.cli_harness import invoke

from pyclaw.llm.testing import FakeOpenAIServer, FakeReply
from pyclaw.runtime import PyClawHome, open_database
from pyclaw.runtime._cron_store import CronStore

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"


def pyclaw(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYCLAW), *args],
        env={**os.environ, "PYCLAW_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("PYCLAW_HOME", str(path))
    return path


def listed() -> dict[str, dict[str, object]]:
    result = invoke("cron", "list", "--json")
    assert result.code == 0, result.err
    return {str(job["name"]): job for job in json.loads(result.out)}


def test_add_list_rm(home: Path) -> None:
    added = invoke(
        "cron", "add", "--name", "news", "--schedule", "0 9 * * 1-5",
        "--timezone", "Europe/Berlin", "--prompt", "Summarize the news",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert added.out.startswith("added cron job 'news'; next run ")
    every = invoke("cron", "add", "--name", "ping", "--every", "1h30m", "--prompt", "ping")
    assert every.code == 0, every.err

    jobs = listed()
    news, ping = jobs["news"], jobs["ping"]
    assert news["schedule"] == "0 9 * * 1-5"
    assert news["timezone"] == "Europe/Berlin"
    assert (news["mode"], news["deliver"], news["source"]) == ("isolated", "announce", "cli")
    assert news["agent"] == "default"
    when = datetime.fromisoformat(str(news["next_run"]))
    assert when.utcoffset() == when.astimezone(ZoneInfo("Europe/Berlin")).utcoffset()
    assert (when.hour, when.minute, when.isoweekday() <= 5) == (9, 0, True)
    assert when > datetime.now(ZoneInfo("UTC"))
    assert (ping["schedule"], ping["every"], ping["every_seconds"]) == (None, "1h30m", 5400.0)
    assert str(ping["next_run"]).endswith("+00:00")

    table = invoke("cron", "list")
    assert table.code == 0
    assert "news\t0 9 * * 1-5\tEurope/Berlin\t" in table.out
    assert "ping\tevery 1h30m\tUTC\t" in table.out

    removed = invoke("cron", "rm", "news")
    assert (removed.code, removed.out) == (0, "removed cron job 'news'\n")
    assert list(listed()) == ["ping"]


def test_next_run_is_in_the_jobs_time_zone(home: Path) -> None:
    for name, zone in [("ny", "America/New_York"), ("lh", "Australia/Lord_Howe")]:
        result = invoke(
            "cron", "add", "--name", name, "--schedule", "30 2 * * *",
            "--timezone", zone, "--prompt", "p",
        )  # fmt: skip
        assert result.code == 0, result.err
    for name, job in listed().items():
        zone = ZoneInfo(str(job["timezone"]))
        when = datetime.fromisoformat(str(job["next_run"]))
        assert when.utcoffset() == when.astimezone(zone).utcoffset(), name
        assert when.astimezone(zone).replace(tzinfo=None) == when.replace(tzinfo=None), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "0 9 * * *", "--every", "5m"], "exactly one of --schedule or --every"),
        ([], "exactly one of --schedule or --every"),
        (["--schedule", "0 9 * *"], "--schedule: crontab '0 9 * *' has 4 fields"),
        (["--schedule", "0 25 * * *"], "hour 25 is outside 0-23"),
        (["--schedule", "0 0 30 2 *"], "never fires"),
        (["--every", "soon"], "--every: 'soon' is not a duration"),
        (["--every", "0s"], "must be greater than zero"),
        (["--every", "1h", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--every", "1h", "--agent", "nobody"], "unknown agent 'nobody'"),
        (["--every", "1h", "--deliver", "webhook"], "needs an http(s) URL"),
        (["--every", "1h", "--mode", "sometimes"], "'sometimes' is not one of"),
    ],
)
def test_add_errors_are_one_line(home: Path, args: list[str], message: str) -> None:
    result = invoke("cron", "add", "--name", "x", "--prompt", "p", *args)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1
    assert result.err.startswith("pyclaw: error: ")
    assert invoke("cron", "list", "--json").out.strip() == "[]"


def test_duplicate_unknown_and_config_jobs(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "pyclaw.toml").write_text(
        '[[cron]]\nname = "digest"\nschedule = "@daily"\ntimezone = "Asia/Tokyo"\nprompt = "d"\n'
    )
    assert invoke("cron", "add", "--name", "a", "--every", "1m", "--prompt", "p").code == 0
    again = invoke("cron", "add", "--name", "a", "--every", "1m", "--prompt", "p")
    assert (again.code, again.err.count("\n")) == (2, 1)
    assert "a cron job named 'a' already exists" in again.err
    clash = invoke("cron", "add", "--name", "digest", "--every", "1m", "--prompt", "p")
    assert clash.code == 2
    assert "already exists" in clash.err

    digest = listed()["digest"]
    assert (digest["source"], digest["schedule"], digest["timezone"]) == (
        "config",
        "@daily",
        "Asia/Tokyo",
    )
    assert str(digest["next_run"]).endswith("T00:00:00+09:00")
    config_rm = invoke("cron", "rm", "digest")
    assert config_rm.code == 2
    assert "cron job 'digest' is defined in pyclaw.toml" in config_rm.err
    assert "remove its [[cron]] entry" in config_rm.err
    for command in (["rm", "nope"], ["run", "nope"]):
        unknown = invoke("cron", *command)
        assert unknown.code == 1
        assert unknown.err == "pyclaw: error: no cron job named 'nope' (see 'pyclaw cron list')\n"


def fail_until_disabled(home: Path, name: str) -> None:
    """Five scheduled firings of ``name`` that fail, as the daemon would record them."""
    clock = Clock(datetime.now(UTC))
    with open_database(PyClawHome.at(home)) as db:
        store = CronStore(db, clock=clock)
        for _ in range(5):
            entry = store.get(name)
            assert entry.next_fire_at is not None
            clock.now = entry.next_fire_at
            (due,) = store.due_jobs()
            assert store.claim(name, due.scheduled_for)
            store.finish(name, due.scheduled_for, status="failed", error="provider down")
            store.record_delivery(name, due.scheduled_for, "skipped")


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def test_failing_jobs_are_disabled_listed_and_enabled_again(home: Path) -> None:
    added = invoke("cron", "add", "--name", "flaky", "--every", "1h", "--prompt", "p")
    assert added.code == 0, added.err
    fine = listed()["flaky"]
    assert (fine["enabled"], fine["consecutive_failures"], fine["disabled_reason"]) == (
        True,
        0,
        None,
    )
    fail_until_disabled(home, "flaky")

    job = listed()["flaky"]
    assert (job["enabled"], job["consecutive_failures"], job["next_run"]) == (False, 5, None)
    assert job["disabled_reason"] == "5 consecutive failures; last: provider down"
    table = invoke("cron", "list")
    assert "\tdisabled\t" in table.out  # the next run column
    assert "disabled: 5 consecutive failures; last: provider down" in table.out

    history = invoke("cron", "history", "flaky", "--json")
    assert history.code == 0, history.err
    runs = json.loads(history.out)
    assert [run["attempt"] for run in runs] == [5, 4, 3, 2, 1]
    assert {(run["status"], run["trigger"], run["delivery"]) for run in runs} == {
        ("failed", "schedule", "skipped")
    }
    assert invoke("cron", "history", "--limit", "2", "--json").out.count('"attempt"') == 2
    assert "flaky\t" in invoke("cron", "history").out
    assert invoke("cron", "history", "nope").code == 1

    enabled = invoke("cron", "enable", "flaky")
    assert enabled.code == 0, enabled.err
    assert enabled.out.startswith("enabled cron job 'flaky'; next run ")
    job = listed()["flaky"]
    assert (job["enabled"], job["consecutive_failures"], job["disabled_reason"]) == (True, 0, None)
    assert job["next_run"] is not None

    disabled = invoke("cron", "disable", "flaky", "--json")
    assert disabled.code == 0, disabled.err
    shown = json.loads(disabled.out)
    assert (shown["enabled"], shown["disabled_reason"]) == (
        False,
        "disabled with 'pyclaw cron disable'",
    )
    # Adding the name again replaces the disabled job and turns it on.
    again = invoke("cron", "add", "--name", "flaky", "--every", "2h", "--prompt", "q", "--json")
    assert again.code == 0, again.err
    job = json.loads(again.out)
    assert (job["enabled"], job["every"], job["prompt"]) == (True, "2h", "q")
    assert invoke("cron", "enable", "nope").code == 1


def write_config(home: Path, server: FakeOpenAIServer) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "pyclaw.toml").write_text(
        f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{server.base_url}"\n'
        'model = "scripted"\n[agents.main]\nprovider = "fake"\ntools = []\n'
        '[[cron]]\nname = "shared"\nschedule = "0 8 * * *"\nmode = "main"\nprompt = "again"\n'
    )


def test_run_now_isolated_and_main(tmp_path: Path) -> None:
    home = tmp_path / "home"
    replies = [FakeReply(text=t) for t in ("One.", "Two.", "Three.", "Four.")]
    with FakeOpenAIServer(replies) as server:
        write_config(home, server)
        added = pyclaw(
            home, "cron", "add", "--name", "solo", "--every", "1d", "--prompt", "hello",
            "--deliver", "silent",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        first = pyclaw(home, "cron", "run", "solo")
        assert first.returncode == 0, first.stderr
        assert first.stdout == "One.\n"
        assert "not delivered" not in first.stderr  # deliver = silent
        second = pyclaw(home, "cron", "run", "solo", "--json")
        assert second.returncode == 0, second.stderr
        shared = [pyclaw(home, "cron", "run", "shared") for _ in range(2)]
    solo = json.loads(second.stdout)
    assert (solo["name"], solo["answer"], solo["status"]) == ("solo", "Two.", "succeeded")
    assert solo["delivered"] is False
    assert [r.stdout for r in shared] == ["Three.\n", "Four.\n"]
    assert all(r.returncode == 0 for r in shared)
    assert "not delivered: 'announce' delivery is done by the daemon" in shared[0].stderr

    sessions = json.loads(pyclaw(home, "sessions", "list", "--json").stdout)
    assert {s["channel"] for s in sessions} == {"cron"}
    assert {s["agent"] for s in sessions} == {"main"}
    assert len(sessions) == 3  # two isolated runs, one shared session for 'main' mode
    # The shared session holds both turns: the second prompt saw the first answer.
    sent = server.requests[3].body["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"] == ["again", "Three.", "again"]
    runs = json.loads(pyclaw(home, "runs", "list", "--json").stdout)
    assert len(runs) == 4
    assert {r["trigger"] for r in runs} == {"cron"}


def test_help_does_not_import_apscheduler() -> None:
    code = (
        "import sys\nfrom pyclaw.runtime.cli import run\n"
        "try:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'apscheduler' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "LOADED False" in result.stdout
