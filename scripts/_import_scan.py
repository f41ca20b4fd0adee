"""Finding every import in a package's ``src``: the AST side of ``check_imports.py``.

Sees module-level imports, imports inside functions, under ``if TYPE_CHECKING``, inside
``try``/``except ImportError``, relative imports (resolved to absolute names), and
``importlib.import_module("...")``/``__import__("...")`` with a literal name. Each import is marked
``guarded`` when it only runs lazily (in a function, a lambda, a ``TYPE_CHECKING`` block or a
``try`` that catches ``ImportError``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _workspace import WorkspacePackage

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule, located in a source file or a pyproject."""

    path: Path
    line: int
    message: str

    def render(self, root: Path) -> str:
        try:
            shown = self.path.relative_to(root)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: {self.message}"


@dataclass(frozen=True)
class ImportRef:
    """One imported module, absolute, with where it happens and whether it is guarded (lazy)."""

    module: str
    path: Path
    line: int
    guarded: bool
    importer: str = ""
    """The dotted name of the importing module."""


def module_name_of(path: Path, src: Path) -> tuple[str, bool]:
    """The dotted module name of ``path`` under ``src`` and whether it is a package ``__init__``."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_init = parts[-1] == "__init__"
    if is_init:
        parts.pop()
    return ".".join(parts), is_init


class _ImportCollector(ast.NodeVisitor):
    """Collects every import of one file, tracking whether it is guarded."""

    def __init__(self, path: Path, module: str, is_init: bool) -> None:
        self.path = path
        self.module = module
        self.package = module if is_init else module.rpartition(".")[0]
        self.refs: list[ImportRef] = []
        self.problems: list[Violation] = []
        self._guard_depth = 0

    @property
    def _guarded(self) -> bool:
        return self._guard_depth > 0

    def _add(self, module: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 1)
        self.refs.append(ImportRef(module, self.path, line, self._guarded, self.module))

    def _visit_guarded(self, nodes: Sequence[ast.AST]) -> None:
        self._guard_depth += 1
        for child in nodes:
            self.visit(child)
        self._guard_depth -= 1

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base_parts = self.package.split(".") if self.package else []
            if node.level - 1 >= len(base_parts):
                self.problems.append(
                    Violation(self.path, node.lineno, "relative import goes above the top package")
                )
                return
            base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        if target == "pyclaw" or target.startswith("pyclaw.") or (node.level and not node.module):
            # a name imported from a PyClaw package may be a submodule (``from pyclaw.x import testing``)
            for alias in node.names:
                self._add(target if alias.name == "*" else f"{target}.{alias.name}", node)
        else:
            self._add(target, node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self._visit_guarded(node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_guarded([node.body])

    def visit_Try(self, node: ast.Try) -> None:
        if any(_catches_import_error(h) for h in node.handlers):
            self._visit_guarded(node.body)
        else:
            for child in node.body:
                self.visit(child)
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(child)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if _is_type_checking(node.test):
            self._visit_guarded(node.body)
        else:
            for child in node.body:
                self.visit(child)
        for child in node.orelse:
            self.visit(child)

    def visit_Call(self, node: ast.Call) -> None:
        if _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node)
        self.generic_visit(node)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(_dotted(n).rpartition(".")[2] in _IMPORT_ERRORS for n in names)


def _is_type_checking(test: ast.expr) -> bool:
    return _dotted(test).rpartition(".")[2] == "TYPE_CHECKING"


def _is_dynamic_import(func: ast.expr) -> bool:
    return _dotted(func) in {"importlib.import_module", "import_module", "__import__"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def python_files(package: WorkspacePackage) -> list[Path]:
    """Every ``.py`` file under the package's ``src``."""
    return sorted(package.src.rglob("*.py"))


def collect_imports(package: WorkspacePackage) -> tuple[list[ImportRef], list[Violation]]:
    """Every import in ``package``'s ``src`` tree, plus files that could not be parsed."""
    refs: list[ImportRef] = []
    problems: list[Violation] = []
    for path in python_files(package):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as exc:
            problems.append(Violation(path, exc.lineno or 1, f"cannot parse: {exc.msg}"))
            continue
        module, is_init = module_name_of(path, package.src)
        collector = _ImportCollector(path, module, is_init)
        collector.visit(tree)
        refs.extend(collector.refs)
        problems.extend(collector.problems)
    return refs, problems
