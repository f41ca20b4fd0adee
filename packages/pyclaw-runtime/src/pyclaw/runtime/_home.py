"""The PyClaw home directory (``PYCLAW_HOME``, default ``~/.pyclaw``) and its fixed layout."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "PYCLAW_HOME"
DEFAULT_HOME = "~/.pyclaw"
DIR_MODE = 0o700


@dataclass(frozen=True)
class PyClawHome:
    """Where PyClaw keeps everything: config, database, artifacts, the agent's workspace and logs."""

    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PyClawHome:
        """``$PYCLAW_HOME`` when set (and not empty), else ``~/.pyclaw``; always absolute."""
        env = os.environ if environ is None else environ
        raw = env.get(HOME_ENV) or DEFAULT_HOME
        return cls.at(raw)

    @classmethod
    def at(cls, path: str | Path) -> PyClawHome:
        return cls(Path(path).expanduser().absolute())

    @property
    def is_default(self) -> bool:
        """True for ``~/.pyclaw`` (the one home that owns the plain ``pyclaw`` keyring service)."""
        return self.root == Path(DEFAULT_HOME).expanduser().absolute()

    @property
    def config_path(self) -> Path:
        return self.root / "pyclaw.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "pyclaw.db"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        """Runtime files of a running daemon: its control socket and lock."""
        return self.root / "run"

    @property
    def control_socket(self) -> Path:
        """The daemon's control socket (``run/daemon.sock``)."""
        return self.run_dir / "daemon.sock"

    @property
    def directories(self) -> tuple[Path, ...]:
        return (self.root, self.artifacts_dir, self.workspace_dir, self.logs_dir, self.run_dir)

    def ensure_layout(self) -> None:
        """Create the home and its directories (mode 0700). Existing ones are left as they are."""
        for directory in self.directories:
            if not directory.exists():
                directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                directory.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask

    @property
    def keyring_service(self) -> str:
        """The keyring service name for this home's secrets: ``pyclaw``, or ``pyclaw:<root>``.

        Homes other than the default get their own service so that a test or second install never
        reads or overwrites the main install's keyring entries.
        """
        return "pyclaw" if self.is_default else f"pyclaw:{self.root}"
