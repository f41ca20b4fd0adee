"""Cortensor at the terminal: ``pyclaw tools list`` offers ``delegate`` exactly when a router is
configured (without calling it), and ``pyclaw chat`` shows long router waits on stderr (quiet
under ``-q`` and ``--json``)."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pyclaw.llm.cortensor import CortensorClient, _build
from pyclaw.llm.testing import FakeCortensorRouter, FakeReply
from pyclaw.runtime._waits import CORTENSOR_LOGGER, show_waits
from pyclaw.runtime.cli import run

KEY = "cortensor-cli-key-93ab7e"


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(*args: str) -> Outcome:
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


def router_toml(url: str) -> str:
    return (
        f'[providers.router]\nkind = "cortensor"\nbase_url = "{url}"\n'
        f'api_key = "{KEY}"\nsession_id = 12\n'
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("PYCLAW_HOME", str(path))
    return path


def delegate_row(*args: str) -> dict[str, Any]:
    result = invoke("tools", "list", "--json", *args)
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = json.loads(result.out)
    return next(r for r in rows if r["name"] == "delegate")


def test_tools_list_shows_delegate_with_a_router(home: Path) -> None:
    (home / "pyclaw.toml").write_text("")
    row = delegate_row()
    assert row["available"] is False
    assert "Cortensor" in row["reason"]
    with FakeCortensorRouter(api_key=KEY) as router:
        (home / "pyclaw.toml").write_text(
            router_toml(router.base_url) + '[agents.main]\nprovider = "router"\n'
            'tools = ["delegate", "read_file"]\n'
        )
        row = delegate_row()
        assert (row["available"], row["risk"], row["source"]) == (True, "risky", "built-in")
        assert row["reason"] is None
        assert delegate_row("--agent", "main")["available"] is True
        table = invoke("tools", "list")
        assert router.requests == []  # listing never talks to the router
    line = next(x for x in table.out.splitlines() if x.startswith("delegate"))
    assert "yes" in line.split()


def test_tools_list_says_why_a_named_router_is_unusable(home: Path) -> None:
    (home / "pyclaw.toml").write_text(
        router_toml("http://127.0.0.1:9") + '[tools.delegate]\nprovider = "nope"\n'
    )
    row = delegate_row()
    assert row["available"] is False
    assert "unknown provider 'nope'" in row["reason"]


class QuickProgress(CortensorClient):
    """The real client, reporting a wait every 0.2 s instead of every 15 s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "progress_every": 0.2})


@pytest.mark.parametrize(("flags", "shown"), [((), True), (("-q",), False), (("--json",), False)])
def test_chat_shows_long_router_waits(
    home: Path, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], shown: bool
) -> None:
    monkeypatch.setattr(_build, "CortensorClient", QuickProgress)
    slow = FakeReply(text="6 x 7 = 42.<|im_end|>", delay=0.9)
    with FakeCortensorRouter([slow], api_key=KEY) as router:
        (home / "pyclaw.toml").write_text(
            router_toml(router.base_url) + '[agents.main]\nprovider = "router"\ntools = []\n'
        )
        result = invoke("chat", "-m", "What is 6 x 7?", "--local", *flags)
    assert result.code == 0, result.err
    assert "6 x 7 = 42." in result.out
    waits = [x for x in result.err.splitlines() if "still waiting" in x]
    if shown:
        assert waits, result.err
        assert waits[0].startswith("  … router ")
        assert waits[0].endswith("still waiting for the Cortensor router (0 s)")
        assert 2 <= len(waits) <= 5
    else:
        assert waits == []
    logger = logging.getLogger(CORTENSOR_LOGGER)  # the logger is left as it was found
    assert (logger.level, logger.propagate, logger.handlers) == (logging.NOTSET, True, [])


def test_louder_records_still_reach_the_normal_handlers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    keep = Keep()
    root.addHandler(keep)
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        with show_waits():
            logging.getLogger(CORTENSOR_LOGGER).info("router stream: still waiting (15 s)")
            logging.getLogger(CORTENSOR_LOGGER).warning("router: something odd")
        with show_waits(enabled=False):
            logging.getLogger(CORTENSOR_LOGGER).info("hidden")
    finally:
        root.removeHandler(keep)
        root.setLevel(level)
    assert seen == ["router: something odd"]
    err = capsys.readouterr().err  # (the root's own handlers may print the warning too)
    assert err.startswith("  … router stream: still waiting (15 s)\n")
    assert "hidden" not in err
