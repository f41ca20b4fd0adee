"""The systemd user unit written by ``pyclaw daemon --install-service``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pyclaw.meta import UsageError
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._systemd import (
    default_unit_dir,
    follow_up_commands,
    render_user_unit,
    write_user_unit,
)


def test_the_unit_file_content_and_mode(tmp_path: Path) -> None:
    home = PyClawHome.at("/srv/claw/home")
    unit = write_user_unit(
        home, executable="/opt/venv/bin/pyclaw", unit_dir=tmp_path / "systemd" / "user"
    )
    assert unit.path == tmp_path / "systemd" / "user" / "pyclaw.service"
    assert unit.path.read_text() == unit.text
    assert unit.text == (
        "[Unit]\n"
        "Description=PyClaw agent daemon\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "ExecStart=/opt/venv/bin/pyclaw daemon\n"
        "Environment=PYCLAW_HOME=/srv/claw/home\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=30\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )
    assert stat.S_IMODE(unit.path.stat().st_mode) == 0o644
    assert unit.next_steps[0] == (
        "systemctl --user daemon-reload && systemctl --user enable --now pyclaw"
    )
    assert unit.next_steps[1].startswith("loginctl enable-linger ")
    rewritten = write_user_unit(
        PyClawHome.at("/other"), executable=Path("/usr/bin/pyclaw"), unit_dir=unit.path.parent
    )
    assert rewritten.path == unit.path
    assert "Environment=PYCLAW_HOME=/other\n" in unit.path.read_text()


def test_paths_with_spaces_and_specifiers_are_quoted() -> None:
    text = render_user_unit(
        PyClawHome.at("/home/a b/100%"), executable=Path('/opt/my "env"/$bin/pyclaw')
    )
    assert 'ExecStart="/opt/my \\"env\\"/$$bin/pyclaw" daemon\n' in text
    assert 'Environment="PYCLAW_HOME=/home/a b/100%%"\n' in text


def test_bad_executables_are_refused() -> None:
    home = PyClawHome.at("/h")
    with pytest.raises(UsageError, match="absolute path"):
        render_user_unit(home, executable=Path("bin/pyclaw"))
    with pytest.raises(UsageError, match="line break"):
        render_user_unit(home, executable=Path("/bin/py\nclaw"))


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_unit_dir() == tmp_path / "systemd" / "user"
    monkeypatch.setenv("USER", "ada")
    assert follow_up_commands()[1].startswith("loginctl enable-linger ada ")
