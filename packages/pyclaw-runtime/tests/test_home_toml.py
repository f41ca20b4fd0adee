from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyclaw.runtime import PyClawHome
from pyclaw.runtime._toml_lines import locate, split_key
from pyclaw.runtime._toml_write import render_toml


def test_home_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYCLAW_HOME", str(tmp_path / "h"))
    home = PyClawHome.from_env()
    assert home.root == tmp_path / "h"
    assert home.config_path == tmp_path / "h" / "pyclaw.toml"
    assert home.db_path.name == "pyclaw.db"
    assert home.keyring_service == f"pyclaw:{tmp_path / 'h'}"
    monkeypatch.delenv("PYCLAW_HOME")
    default = PyClawHome.from_env()
    assert default.root == Path("~/.pyclaw").expanduser()
    assert default.keyring_service == "pyclaw"


def test_ensure_layout_creates_private_dirs(tmp_path: Path) -> None:
    home = PyClawHome.at(tmp_path / "a" / "home")
    home.ensure_layout()
    for directory in (home.root, home.artifacts_dir, home.workspace_dir, home.logs_dir):
        assert directory.is_dir()
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    home.ensure_layout()  # idempotent


def test_split_key() -> None:
    assert split_key('providers."my.p".kind') == ("providers", "my.p", "kind")


def test_locate() -> None:
    text = """# comment
default_agent = "a"

[providers.x]
kind = "local"
notes = '''
kind = "not this"
'''

[[cron]]
name = "one"

[[cron]]
name = "two"
"""
    assert locate(text, ("default_agent",)) == 2
    assert locate(text, ("providers", "x", "kind")) == 5
    assert locate(text, ("providers", "x", "missing")) == 4
    assert locate(text, ("cron", 1, "name")) == 14
    assert locate(text, ("cron", 0, "name")) == 11
    assert locate(text, ("agents", "a")) is None


names = st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True)
scalars = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.booleans(),
    st.lists(st.integers(min_value=0, max_value=10**9), max_size=4),
    st.lists(st.text(max_size=10), max_size=3),
)


@given(st.dictionaries(names, st.dictionaries(names, scalars, max_size=4), max_size=4))
def test_render_toml_round_trips(data: dict[str, dict[str, object]]) -> None:
    document = {"providers": data}
    assert tomllib.loads(render_toml(document)) == document
