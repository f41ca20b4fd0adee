"""Check the built distributions in ``dist/``: one wheel and one sdist per package, namespace-clean.

A wheel must hold ``pyclaw/<mod>/__init__.py`` and ``pyclaw/<mod>/py.typed``, nothing else outside
``pyclaw/<mod>/`` but its ``.dist-info``, and never ``pyclaw/__init__.py`` (which would break the
PEP 420 namespace for every other PyClaw package installed beside it).

Usage: ``python scripts/check_dist.py [DIST_DIR]``; exit status 1 on any problem.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from _workspace import WorkspacePackage, load_workspace

ROOT = Path(__file__).resolve().parent.parent


def check_wheel(package: WorkspacePackage, wheel: Path) -> list[str]:
    """Problems with one package's wheel."""
    prefix = package.module.replace(".", "/") + "/"
    dist_info = f"{package.wheel_stem}-{package.version}.dist-info/"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    problems: list[str] = []
    if "pyclaw/__init__.py" in names:
        problems.append(f"{wheel.name}: contains pyclaw/__init__.py (breaks the namespace)")
    for required in ("__init__.py", "py.typed"):
        if prefix + required not in names:
            problems.append(f"{wheel.name}: missing {prefix}{required}")
    parents = {prefix[: i + 1] for i, char in enumerate(prefix) if char == "/"}  # "pyclaw/", ...
    strays = [n for n in names if not n.startswith((prefix, dist_info)) and n not in parents]
    if strays:
        problems.append(f"{wheel.name}: files outside {prefix}: {', '.join(strays[:5])}")
    return problems


def check(dist_dir: Path, root: Path = ROOT) -> list[str]:
    """Problems with every package's distributions in ``dist_dir``."""
    problems: list[str] = []
    for package in load_workspace(root):
        wheels = sorted(dist_dir.glob(f"{package.wheel_stem}-{package.version}-*.whl"))
        sdists = sorted(dist_dir.glob(f"{package.wheel_stem}-{package.version}.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            problems.append(
                f"{package.dist}: expected one wheel and one sdist, found {len(wheels)} and {len(sdists)}"
            )
        for wheel in wheels:
            problems.extend(check_wheel(package, wheel))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    dist_dir = Path(args[0]) if args else ROOT / "dist"
    problems = check(dist_dir)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    count = len(list(dist_dir.glob("*.whl")))
    print(f"dist OK: {count} wheels and their sdists in {dist_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
