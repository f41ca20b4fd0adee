"""``pyclaw pairing list | approve | revoke`` on a database prepared by the channel's own functions.

The commands run through ``pyclaw.runtime.cli.run`` (one-line errors, exit statuses). ``pairing``
is registered on the root group here too, so the test does not depend on ``cli.py``'s listing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pyclaw.controlplane_telegram import TELEGRAM_MIGRATIONS, list_paired_users
from pyclaw.controlplane_telegram._pairing import pairing_ticket
from pyclaw.meta import utcnow
from pyclaw.runtime._cli_lazy import LazyGroup
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_database
from pyclaw.runtime.cli import cli, run


@pytest.fixture(autouse=True)
def pairing_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(cli, LazyGroup)
    if "pairing" not in cli.lazy:
        target = ("pyclaw.runtime._cli_pairing:pairing", "Pairing.")
        monkeypatch.setitem(cli.lazy, "pairing", target)


@pytest.fixture
def home(tmp_path: Path) -> PyClawHome:
    return PyClawHome.at(tmp_path / "h")


def ask(home: PyClawHome, user_id: int, name: str, *, age_s: float = 0, ttl: float = 600) -> str:
    """What the channel does for an unknown user: a pending pairing code."""
    db = open_database(home)
    try:
        db.ensure(TELEGRAM_MIGRATIONS)
        ticket = pairing_ticket(
            db,
            "clawbot",
            user_id=user_id,
            chat_id=user_id + 1000,
            name=name,
            now=utcnow() - timedelta(seconds=age_s),
            ttl=ttl,
            reply_interval=60,
            max_pending=10,
        )
    finally:
        db.close()
    assert ticket is not None
    return ticket.code


def pyclaw(home: PyClawHome, *args: str) -> int:
    return run(["--home", str(home.root), *args])


def test_list_approve_revoke(home: PyClawHome, capsys: pytest.CaptureFixture[str]) -> None:
    code = ask(home, 42, "Ada")
    ask(home, 7, "Old", age_s=3600, ttl=60)  # expired: not listed
    assert pyclaw(home, "pairing", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["code"], p["user_id"], p["name"], p["bot"]) for p in listed["pending"]] == [
        (code, 42, "Ada", "clawbot")
    ]
    assert listed["paired"] == []

    assert pyclaw(home, "pairing", "approve", code.lower()) == 0
    assert capsys.readouterr().out == "paired Telegram user Ada (id 42) with bot clawbot\n"
    db = open_database(home)
    try:
        assert [(u.user_id, u.chat_id) for u in list_paired_users(db)] == [(42, 1042)]
    finally:
        db.close()

    assert pyclaw(home, "pairing", "list") == 0
    out = capsys.readouterr().out
    assert out.startswith("no pending pairing requests\n")
    assert "42\tAda\tclawbot\t" in out

    assert pyclaw(home, "pairing", "revoke", "42", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"user_id": 42, "revoked": True}
    assert pyclaw(home, "pairing", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"pending": [], "paired": []}


def test_wrong_used_and_expired_codes_exit_2(
    home: PyClawHome, capsys: pytest.CaptureFixture[str]
) -> None:
    code = ask(home, 42, "Ada")
    stale = ask(home, 7, "Old", age_s=3600, ttl=60)
    assert pyclaw(home, "pairing", "approve", "WRONG234") == 2
    assert capsys.readouterr().err == ("pyclaw: error: no pending pairing with code 'WRONG234'\n")
    assert pyclaw(home, "pairing", "approve", stale) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pyclaw: error: pairing code '{stale}' has expired")
    assert err.count("\n") == 1
    assert pyclaw(home, "pairing", "approve", code) == 0
    capsys.readouterr()
    assert pyclaw(home, "pairing", "approve", code) == 2  # already used
    assert "no pending pairing" in capsys.readouterr().err


def test_revoking_an_unknown_user_exits_2(
    home: PyClawHome, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pyclaw(home, "pairing", "revoke", "99") == 2
    assert capsys.readouterr().err == "pyclaw: error: no paired Telegram user with id 99\n"
    assert pyclaw(home, "pairing", "revoke", "not-a-number") == 2
