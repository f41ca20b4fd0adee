"""The workspace's shape: namespace layout, per-package files, versions, and the import graph."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import check_imports
from _workspace import WorkspacePackage, expected_module, load_workspace, normalize

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = load_workspace(REPO_ROOT)
REQUIRED = {
    "pyclaw-meta",
    "pyclaw-storage",
    "pyclaw-session",
    "pyclaw-llm",
    "pyclaw-context",
    "pyclaw-os",
    "pyclaw-policy",
    "pyclaw-brain",
    "pyclaw-runtime",
    "pyclaw-controlplane-telegram",
}
by_name = pytest.mark.parametrize("package", PACKAGES, ids=[p.dist for p in PACKAGES])


def root_pyproject() -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_required_packages_exist() -> None:
    assert {p.dist for p in PACKAGES} >= REQUIRED


def test_no_pyclaw_init_anywhere() -> None:
    offenders = sorted(REPO_ROOT.glob("packages/*/src/pyclaw/__init__.py"))
    assert offenders == [], "pyclaw is a PEP 420 namespace: delete " + ", ".join(
        map(str, offenders)
    )


@by_name
def test_package_directory_name_matches_distribution(package: WorkspacePackage) -> None:
    assert package.directory.name == package.dist


@by_name
def test_module_name_matches_directory(package: WorkspacePackage) -> None:
    assert package.module == expected_module(package.directory.name)
    assert (package.module_dir / "__init__.py").is_file()


@by_name
def test_package_has_py_typed_and_readme(package: WorkspacePackage) -> None:
    assert (package.module_dir / "py.typed").is_file()
    readme = package.directory / "README.md"
    assert readme.is_file()
    assert readme.read_text(encoding="utf-8").strip()


@by_name
def test_package_has_tests(package: WorkspacePackage) -> None:
    test_files = sorted(package.tests.glob("**/test_*.py"))
    assert test_files, f"{package.dist} has no tests/test_*.py"


@by_name
def test_package_uses_uv_build_and_the_roots_python(package: WorkspacePackage) -> None:
    data = tomllib.loads(package.pyproject.read_text(encoding="utf-8"))
    assert data["build-system"]["build-backend"] == "uv_build"
    root_project = root_pyproject()["project"]
    assert isinstance(root_project, dict)
    assert data["project"]["requires-python"] == root_project["requires-python"]


def test_versions_are_consistent() -> None:
    versions = {p.dist: p.version for p in PACKAGES}
    assert len(set(versions.values())) == 1, versions


def test_pyclaw_dependencies_are_workspace_sources() -> None:
    for package in PACKAGES:
        data = tomllib.loads(package.pyproject.read_text(encoding="utf-8"))
        sources = data.get("tool", {}).get("uv", {}).get("sources", {})
        for dep in package.pyclaw_dependencies(package.extras):
            assert sources.get(dep) == {"workspace": True}, f"{package.dist}: {dep}"


def test_root_depends_on_every_member() -> None:
    data = root_pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    declared = {normalize(str(d)) for d in project["dependencies"]}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    members = {p.dist for p in PACKAGES}
    assert members <= declared, f"root pyproject is missing {sorted(members - declared)}"
    tool = data["tool"]
    assert isinstance(tool, dict)
    sources = tool["uv"]["sources"]  # pyright: ignore[reportUnknownVariableType]
    for member in members:
        assert sources[member] == {"workspace": True}


def test_import_graph_of_the_repository() -> None:
    violations = [v.render(REPO_ROOT) for v in check_imports.check(REPO_ROOT)]
    assert violations == [], "\n".join(violations)
