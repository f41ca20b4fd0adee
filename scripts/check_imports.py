"""The import-graph check: every import under ``packages/*/src`` obeys PyClaw's dependency rules.

Rules (each violation is printed as ``file:line: message``; exit status 1 if there is any):

1. ``pyclaw.brain`` imports (and declares) no PyClaw package except ``pyclaw.meta``.
2. Nothing outside pyclaw-runtime imports (or declares) ``pyclaw.runtime``: it is the composition root.
3. A package imports another PyClaw package only if it declares it, and the declared PyClaw
   dependency graph has no cycle.
4. A package declares exactly the third-party distributions it imports: an import must be covered by
   a declared dependency (an optional extra counts only for an import guarded as lazy: inside a
   function, a ``try``/``except ImportError`` or an ``if TYPE_CHECKING`` block; or for any import
   inside the module named after the extra, e.g. ``pyclaw.session.testing`` for ``[testing]``,
   which nothing imports unless that extra is installed), and every declared
   dependency must be imported somewhere in ``src``. A dependency that is needed but never imported
   (a plug-in loaded by entry point) is listed with its reason in the package's pyproject under
   ``[tool.pyclaw.imports] unused-ok = { "dist" = "why" }``. ``testing`` extras are exempt.
5. pyclaw-meta depends on pydantic alone.

Every import is seen: module level, inside functions, under ``TYPE_CHECKING``, relative imports
(resolved), and ``importlib.import_module("...")``/``__import__("...")`` with a literal name.
Third-party modules are mapped to distributions with ``importlib.metadata.packages_distributions()``
of the running (synced) environment; the stdlib with ``sys.stdlib_module_names``.

Usage: ``python scripts/check_imports.py [ROOT]`` (ROOT defaults to the repository).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import packages_distributions
from pathlib import Path

from _import_scan import ImportRef, Violation, collect_imports, python_files
from _workspace import (
    TESTING_EXTRAS,
    Requirement,
    WorkspacePackage,
    expected_module,
    load_workspace,
    normalize,
)

BRAIN = "pyclaw.brain"
META = "pyclaw.meta"
RUNTIME = "pyclaw.runtime"
META_ALLOWED = frozenset({"pydantic"})


def in_extra_module(package: WorkspacePackage, importer: str, dists: set[str]) -> bool:
    """Whether ``importer`` lives in the module named after an extra that provides one of ``dists``.

    ``pyclaw.session.testing`` (and its submodules) may import the ``testing`` extra's
    distributions at module level: nothing imports that module unless the extra is installed.
    """
    for extra, reqs in package.extras.items():
        if not dists & {r.name for r in reqs}:
            continue
        home = f"{package.module}.{extra.replace('-', '_')}"
        if importer == home or importer.startswith(home + "."):
            return True
    return False


class _Checker:
    """Applies the rules to a whole workspace."""

    def __init__(self, root: Path, distributions: Mapping[str, Sequence[str]]) -> None:
        self.root = root
        self.packages = load_workspace(root)
        self.by_module = {p.module: p for p in self.packages if p.module}
        self.by_dist = {p.dist: p for p in self.packages}
        self.distributions = {
            top: frozenset(normalize(d) for d in dists) for top, dists in distributions.items()
        }
        self.violations: list[Violation] = []
        self.files = 0
        self.imports = 0

    def report(self, path: Path, line: int, message: str) -> None:
        self.violations.append(Violation(path, line, message))

    def run(self) -> list[Violation]:
        if not self.packages:
            self.report(self.root, 1, "no packages/*/pyproject.toml found")
        for package in self.packages:
            self.check_declarations(package)
            self.check_imports(package)
        self.check_cycles()
        return sorted(set(self.violations))

    def check_declarations(self, package: WorkspacePackage) -> None:
        pyproject = package.pyproject
        if not package.module:
            self.report(pyproject, 1, "no [tool.uv.build-backend] module-name")
        elif package.module != expected_module(package.directory.name):
            self.report(
                pyproject,
                1,
                f"module-name {package.module!r} does not match the directory "
                f"(expected {expected_module(package.directory.name)!r})",
            )
        runtime_dist = self.by_module[RUNTIME].dist if RUNTIME in self.by_module else None
        for extra, req in self._all_requirements(package):
            where = "dependencies" if extra is None else f"optional extra [{extra}]"
            if req.is_pyclaw and req.name not in self.by_dist and req.name != package.dist:
                self.report(
                    pyproject, req.line, f"{where} name {req.raw!r}: not a workspace package"
                )
            if package.module == BRAIN and req.is_pyclaw and self._module_of(req.name) != META:
                self.report(
                    pyproject,
                    req.line,
                    f"pyclaw-brain may depend on no PyClaw package but pyclaw-meta ({where} has {req.raw!r})",
                )
            if req.name == runtime_dist and package.module != RUNTIME:
                self.report(
                    pyproject,
                    req.line,
                    f"nothing may depend on pyclaw-runtime, the composition root ({where} has {req.raw!r})",
                )
            if (
                package.module == META
                and (extra is None or extra not in TESTING_EXTRAS)
                and req.name not in META_ALLOWED
            ):
                self.report(
                    pyproject,
                    req.line,
                    f"pyclaw-meta depends on pydantic alone ({where} has {req.raw!r})",
                )
        if package.module == META and "pydantic" not in {r.name for r in package.dependencies}:
            self.report(pyproject, 1, "pyclaw-meta must depend on pydantic")

    def _all_requirements(
        self, package: WorkspacePackage
    ) -> Iterator[tuple[str | None, Requirement]]:
        for req in package.dependencies:
            yield None, req
        for extra, reqs in package.extras.items():
            for req in reqs:
                yield extra, req

    def _module_of(self, dist: str) -> str:
        package = self.by_dist.get(dist)
        return package.module if package else dist

    def check_imports(self, package: WorkspacePackage) -> None:
        refs, problems = collect_imports(package)
        self.violations.extend(problems)
        self.files += len(python_files(package))
        self.imports += len(refs)
        main = {r.name for r in package.dependencies}
        extra_of: dict[str, str] = {}
        for extra, reqs in package.extras.items():
            for req in reqs:
                extra_of.setdefault(req.name, extra)
        used: set[str] = set()
        for ref in refs:
            used |= self.check_one(package, ref, main, extra_of)
        self.check_unused(package, used)

    def check_one(
        self, package: WorkspacePackage, ref: ImportRef, main: set[str], extra_of: dict[str, str]
    ) -> set[str]:
        """Check one import; return the distributions it uses."""
        parts = ref.module.split(".")
        top = parts[0]
        if not top or top == "__future__" or top in sys.stdlib_module_names:
            return set()
        if top == "pyclaw":
            return self.check_pyclaw(package, ref, parts, main, extra_of)
        dists = self.distributions.get(top)
        if dists is None:
            if normalize(top) in main or normalize(top) in extra_of:
                return {normalize(top)}
            self.report(
                ref.path,
                ref.line,
                f"imports {top!r}, which no installed distribution provides "
                f"(declare it in {package.dist}'s pyproject and run uv sync)",
            )
            return set()
        if dists & main:
            return set(dists & main)
        in_extras = sorted(d for d in dists if d in extra_of)
        if in_extras:
            if not ref.guarded and not in_extra_module(package, ref.importer, set(in_extras)):
                extra = extra_of[in_extras[0]]
                self.report(
                    ref.path,
                    ref.line,
                    f"imports {top!r} at module level, but {in_extras[0]} is only in the optional "
                    f"extra [{extra}]: import it lazily (inside a function or a try/except "
                    f"ImportError) or only from {package.module}.{extra.replace('-', '_')}",
                )
            return set(in_extras)
        self.report(
            ref.path,
            ref.line,
            f"imports {top!r} (distribution {', '.join(sorted(dists))}) but {package.dist} "
            "does not declare it",
        )
        return set()

    def check_pyclaw(
        self,
        package: WorkspacePackage,
        ref: ImportRef,
        parts: list[str],
        main: set[str],
        extra_of: dict[str, str],
    ) -> set[str]:
        if len(parts) < 2:
            return set()
        module = f"pyclaw.{parts[1]}"
        if module == package.module:
            self.check_extra_module_import(package, ref, parts)
            return set()
        target = self.by_module.get(module)
        if target is None:
            self.report(ref.path, ref.line, f"imports {module}, which is not a workspace package")
            return set()
        if package.module == BRAIN and module != META:
            self.report(
                ref.path,
                ref.line,
                f"pyclaw.brain may import no PyClaw package but pyclaw.meta (imports {module})",
            )
        if module == RUNTIME:
            self.report(
                ref.path,
                ref.line,
                f"nothing outside pyclaw-runtime may import pyclaw.runtime ({package.dist} does)",
            )
        if target.dist in main:
            return {target.dist}
        if target.dist in extra_of and (
            ref.guarded or in_extra_module(package, ref.importer, {target.dist})
        ):
            return {target.dist}
        self.report(
            ref.path,
            ref.line,
            f"imports {module} but {package.dist} does not declare {target.dist} in its dependencies",
        )
        return set()

    def check_extra_module_import(
        self, package: WorkspacePackage, ref: ImportRef, parts: list[str]
    ) -> None:
        """The module named after an extra may be imported by the rest of the package only lazily."""
        if len(parts) < 3 or ref.guarded:
            return
        extras = {extra.replace("-", "_"): extra for extra in package.extras}
        extra = extras.get(parts[2])
        home = f"{package.module}.{parts[2]}"
        if extra is None or ref.importer == home or ref.importer.startswith(home + "."):
            return
        self.report(
            ref.path,
            ref.line,
            f"imports {home} at module level, but it needs the optional extra [{extra}]: "
            "import it lazily",
        )

    def check_unused(self, package: WorkspacePackage, used: set[str]) -> None:
        for extra, req in self._all_requirements(package):
            if extra in TESTING_EXTRAS or req.name == package.dist or req.name in used:
                continue
            if req.name in package.unused_ok:
                continue
            where = "dependencies" if extra is None else f"optional extra [{extra}]"
            self.report(
                package.pyproject,
                req.line,
                f"{where} declares {req.raw!r} but nothing in src imports it "
                "(remove it, or list it under [tool.pyclaw.imports] unused-ok with the reason)",
            )

    def check_cycles(self) -> None:
        graph = {
            p.dist: sorted(p.pyclaw_dependencies(p.extras) & self.by_dist.keys())
            for p in self.packages
        }
        state: dict[str, int] = {}
        stack: list[str] = []
        seen_cycles: set[frozenset[str]] = set()

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in graph.get(node, []):
                if state.get(nxt) == 1:
                    cycle = [*stack[stack.index(nxt) :], nxt]
                    key = frozenset(cycle)
                    if key not in seen_cycles:
                        seen_cycles.add(key)
                        self.report(
                            self.by_dist[nxt].pyproject,
                            1,
                            "PyClaw dependency cycle: " + " -> ".join(cycle),
                        )
                elif nxt not in state:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for node in sorted(graph):
            if node not in state:
                visit(node)


@functools.cache
def installed_distributions() -> Mapping[str, Sequence[str]]:
    """Top-level module -> distributions providing it, in the running environment (cached)."""
    return packages_distributions()


def check(root: Path, distributions: Mapping[str, Sequence[str]] | None = None) -> list[Violation]:
    """All violations of the rules in the workspace at ``root``."""
    return _Checker(root, distributions or installed_distributions()).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "root", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    checker = _Checker(root, installed_distributions())
    violations = checker.run()
    for violation in violations:
        print(violation.render(root))
    if violations:
        print(f"import graph: {len(violations)} violation(s)")
        return 1
    print(
        f"import graph OK: {len(checker.packages)} packages, {checker.files} files, "
        f"{checker.imports} imports"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
