"""A systemd user unit that runs ``pyclaw daemon`` (``pyclaw daemon --install-service``)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pyclaw.meta import UsageError, atomic_write_text
from pyclaw.runtime._home import PyClawHome

UNIT_NAME = "pyclaw.service"
UNIT_MODE = 0o644
_SPECIAL = frozenset(" \t\"'\\;$")


def default_unit_dir() -> Path:
    """``$XDG_CONFIG_HOME/systemd/user``, else ``~/.config/systemd/user``."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(config) / "systemd" / "user"


def default_executable() -> Path:
    """The ``pyclaw`` being run (when it is the console script), else the one on ``PATH``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "pyclaw" and argv0.exists():
        return argv0.absolute()
    found = shutil.which("pyclaw")
    if found is None:
        raise UsageError("cannot find the pyclaw executable", hint="pass its absolute path")
    return Path(found).absolute()


def _quote(value: str, *, command: bool = False) -> str:
    """One systemd word: ``%`` doubled (and ``$`` in a command line), double-quoted with escapes
    when it has spaces, quotes or backslashes."""
    if any(ch in value for ch in "\n\r\0"):
        raise UsageError(f"a path in a systemd unit cannot contain a line break: {value!r}")
    value = value.replace("%", "%%")
    if command:
        value = value.replace("$", "$$")
    if not _SPECIAL.intersection(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_user_unit(home: PyClawHome, *, executable: Path) -> str:
    """The text of ``pyclaw.service`` for ``home``, running ``executable daemon``."""
    if not executable.is_absolute():
        raise UsageError(f"the pyclaw executable must be an absolute path, not {executable}")
    return (
        "[Unit]\n"
        "Description=PyClaw agent daemon\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={_quote(str(executable), command=True)} daemon\n"
        f"Environment={_quote(f'PYCLAW_HOME={home.root}')}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=30\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


@dataclass(frozen=True)
class UserUnit:
    """A written unit: where it is, its text, and the commands that enable it."""

    path: Path
    text: str
    next_steps: tuple[str, ...]


def write_user_unit(
    home: PyClawHome, *, executable: str | Path, unit_dir: Path | None = None
) -> UserUnit:
    """Write ``pyclaw.service`` (mode 0644) into ``unit_dir`` (default: the user's unit dir).

    Replaces an existing unit of that name. ``executable`` must be an absolute path.
    """
    text = render_user_unit(home, executable=Path(executable))
    directory = unit_dir if unit_dir is not None else default_unit_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / UNIT_NAME
    atomic_write_text(path, text, mode=UNIT_MODE)
    return UserUnit(path, text, follow_up_commands())


def follow_up_commands(user: str | None = None) -> tuple[str, ...]:
    """The commands that enable the unit, and keep it running after logout (linger)."""
    who = user or os.environ.get("USER") or "$USER"
    return (
        "systemctl --user daemon-reload && systemctl --user enable --now pyclaw",
        f"loginctl enable-linger {who}   # keep the daemon running while you are logged out",
    )
