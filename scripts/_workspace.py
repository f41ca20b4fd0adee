"""The workspace as the tooling scripts see it: each package, its pyproject and its dependencies.

Shared by ``check_imports.py``, ``isolation.py`` and ``check_dist.py``. Stdlib only, so it also runs
under a bare interpreter.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

PYCLAW_PREFIX = "pyclaw-"
TESTING_EXTRAS = frozenset({"testing", "test", "tests"})
"""Extras that serve a package's own tests: installed by the isolation job, exempt from the
declared-but-unused check (their distributions are imported by tests, not by ``src``)."""

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EXTRAS_RE = re.compile(r"^\s*[A-Za-z0-9._-]+\s*\[([^\]]*)\]")


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form (``Keyrings.Alt`` -> ``keyrings-alt``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    """One dependency string from a pyproject, with where it was written."""

    raw: str
    name: str
    """Normalized distribution name."""
    extras: frozenset[str]
    line: int

    @property
    def is_pyclaw(self) -> bool:
        return self.name.startswith(PYCLAW_PREFIX)


@dataclass(frozen=True)
class WorkspacePackage:
    """A workspace member: ``packages/pyclaw-<x>`` with its parsed pyproject."""

    directory: Path
    dist: str
    """Normalized distribution name, e.g. ``pyclaw-llm``."""
    module: str
    """The import name from ``[tool.uv.build-backend] module-name``, e.g. ``pyclaw.llm``; empty if missing."""
    version: str
    dependencies: tuple[Requirement, ...]
    extras: Mapping[str, tuple[Requirement, ...]] = field(
        default_factory=dict[str, tuple[Requirement, ...]]
    )
    unused_ok: Mapping[str, str] = field(default_factory=dict[str, str])
    """``[tool.pyclaw.imports] unused-ok``: normalized distribution -> why it is declared but not imported."""

    @property
    def pyproject(self) -> Path:
        return self.directory / "pyproject.toml"

    @property
    def src(self) -> Path:
        return self.directory / "src"

    @property
    def tests(self) -> Path:
        return self.directory / "tests"

    @property
    def module_dir(self) -> Path:
        return self.src.joinpath(*self.module.split("."))

    @property
    def wheel_stem(self) -> str:
        """The distribution name as it appears in wheel file names (``pyclaw_llm``)."""
        return self.dist.replace("-", "_")

    def pyclaw_dependencies(self, extras: Iterable[str] = ()) -> set[str]:
        """Names of the PyClaw packages this one depends on (main dependencies plus the given extras)."""
        reqs = list(self.dependencies)
        for extra in extras:
            reqs.extend(self.extras.get(extra, ()))
        return {r.name for r in reqs if r.is_pyclaw and r.name != self.dist}


def expected_module(directory_name: str) -> str:
    """The import name a package directory must declare: ``pyclaw-controlplane-telegram`` -> ``pyclaw.controlplane_telegram``."""
    return "pyclaw." + directory_name.removeprefix(PYCLAW_PREFIX).replace("-", "_")


def _line_of(text_lines: list[str], raw: str) -> int:
    for quote in ('"', "'"):
        needle = f"{quote}{raw}{quote}"
        for number, line in enumerate(text_lines, start=1):
            if needle in line:
                return number
    return 1


def parse_requirement(raw: str, text_lines: list[str]) -> Requirement:
    """Parse the distribution name and extras of a PEP 508 string (enough for our checks)."""
    match = _NAME_RE.match(raw)
    name = normalize(match.group(1)) if match else raw.strip()
    extras_match = _EXTRAS_RE.match(raw)
    extras = (
        frozenset(e.strip() for e in extras_match.group(1).split(",") if e.strip())
        if extras_match
        else frozenset[str]()
    )
    return Requirement(raw=raw, name=name, extras=extras, line=_line_of(text_lines, raw))


def _table(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    current: Any = data
    for key in keys:
        if not isinstance(current, dict):
            return {}
        current = cast(dict[str, Any], current).get(key, {})
    return cast(dict[str, Any], current) if isinstance(current, dict) else {}


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in cast(list[Any], value) if isinstance(item, str)]


def load_package(directory: Path) -> WorkspacePackage:
    """Read ``directory/pyproject.toml``."""
    pyproject = directory / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    lines = text.splitlines()
    data = tomllib.loads(text)
    project = _table(data, "project")
    extras_table = _table(project, "optional-dependencies")
    unused_ok = _table(data, "tool", "pyclaw", "imports", "unused-ok")
    return WorkspacePackage(
        directory=directory,
        dist=normalize(str(project.get("name", directory.name))),
        module=str(_table(data, "tool", "uv", "build-backend").get("module-name", "")),
        version=str(project.get("version", "")),
        dependencies=tuple(
            parse_requirement(r, lines) for r in _strings(project.get("dependencies"))
        ),
        extras={
            extra: tuple(parse_requirement(r, lines) for r in _strings(reqs))
            for extra, reqs in extras_table.items()
        },
        unused_ok={normalize(k): str(v) for k, v in unused_ok.items()},
    )


def load_workspace(root: Path) -> list[WorkspacePackage]:
    """Every ``packages/*`` directory under ``root`` that has a pyproject, sorted by name."""
    packages_dir = root / "packages"
    if not packages_dir.is_dir():
        return []
    return [
        load_package(d)
        for d in sorted(packages_dir.iterdir())
        if d.is_dir() and (d / "pyproject.toml").is_file()
    ]


def pyclaw_closure(
    packages: Iterable[WorkspacePackage], dist: str, extras: Iterable[str] = ()
) -> list[str]:
    """``dist`` and every PyClaw package it needs, transitively, in dependency order (deepest first).

    ``extras`` apply to ``dist`` itself only (e.g. its ``testing`` extra); a dependency's own extras
    requested as ``pyclaw-x[y]`` are followed too.
    """
    by_name = {p.dist: p for p in packages}
    order: list[str] = []
    visited: dict[str, set[str]] = {}

    def visit(name: str, wanted_extras: Iterable[str]) -> None:
        package = by_name.get(name)
        if package is None:
            raise KeyError(f"{name} is not a workspace package")
        first = name not in visited
        done = visited.setdefault(name, set())
        new_extras = set(wanted_extras) - done
        if not first and not new_extras:
            return
        done |= new_extras
        reqs = list(package.dependencies) if first else []
        for extra in sorted(new_extras):
            reqs.extend(package.extras.get(extra, ()))
        for req in reqs:
            if req.is_pyclaw and req.name != name:
                visit(req.name, req.extras)
        if first:
            order.append(name)

    visit(normalize(dist), tuple(extras))
    return order
