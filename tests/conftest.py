"""Fixtures for the cross-package tests in ``tests/``.

The test-wide safety net (``PYCLAW_HOME`` in a tmp dir, no ``PYCLAW_SECRET_*`` variables, no network
beyond loopback) is in the repository's root ``conftest.py`` so that it covers ``packages/*/tests``
too; this file adds what only the workspace-level tests need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The repository root (the uv workspace)."""
    return REPO_ROOT


@pytest.fixture
def make_package(tmp_path: Path) -> Callable[..., Path]:
    """Build a synthetic ``packages/pyclaw-<name>`` under ``tmp_path`` (the workspace root).

    ``files`` maps paths relative to ``src/pyclaw/<module>/`` to their source; each dependency is
    written on its own line so that checks can point at it.
    """

    def make(
        name: str,
        deps: Sequence[str] = ("pyclaw-meta",),
        *,
        extras: Mapping[str, Sequence[str]] | None = None,
        files: Mapping[str, str] | None = None,
        tool: str = "",
    ) -> Path:
        module = name.replace("-", "_")
        directory = tmp_path / "packages" / f"pyclaw-{name}"
        module_dir = directory / "src" / "pyclaw" / module
        module_dir.mkdir(parents=True)
        (directory / "tests").mkdir()
        (directory / "README.md").write_text(f"# pyclaw-{name}\n")
        (module_dir / "py.typed").write_text("")
        lines = [
            "[project]",
            f'name = "pyclaw-{name}"',
            'version = "0.1.0"',
            "dependencies = [",
            *(f'    "{dep}",' for dep in deps),
            "]",
        ]
        if extras:
            lines.append("[project.optional-dependencies]")
            for extra, reqs in extras.items():
                lines.extend([f"{extra} = [", *(f'    "{r}",' for r in reqs), "]"])
        lines.extend(["[tool.uv.build-backend]", f'module-name = "pyclaw.{module}"', tool])
        (directory / "pyproject.toml").write_text("\n".join(lines) + "\n")
        sources = {"__init__.py": '"""Synthetic."""\n', **(files or {})}
        for relative, text in sources.items():
            path = module_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return directory

    return make
