"""Per-package isolation: each package's tests pass with only its own wheel and declared dependencies.

For every workspace package, in sequence:

1. a fresh venv ``.venv-iso/<package>`` (``uv venv --clear``);
2. install, by explicit file path, the package's wheel and the wheels of its PyClaw dependencies
   (the transitive closure computed from the pyprojects: a ``pyclaw-*`` name is never resolved from
   an index); third-party versions are constrained to ``uv.lock`` (``uv export``), so the uv cache
   serves them; check that exactly that closure of PyClaw distributions got installed;
3. ``python -c "import pyclaw.<mod>"`` with nothing else installed;
4. add pytest, pytest-asyncio, pytest-timeout, hypothesis and the package's ``testing`` extra if it has one (and the
   PyClaw wheels that extra names), checking the closure again;
5. run ``packages/pyclaw-<x>/tests`` with the root pytest config against the installed wheel.
   "No tests collected" (pytest exit 5) is a failure: every package must have tests.

Usage: ``python scripts/isolation.py [--only pyclaw-x ...] [--no-build]`` (run through ``uv run``;
the uv binary comes from ``$UV`` or ``PATH``). Exit status 1 if any package failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _workspace import TESTING_EXTRAS, WorkspacePackage, load_workspace, pyclaw_closure

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = ("pytest", "pytest-asyncio", "pytest-timeout", "hypothesis")
TIMEOUT_INSTALL = 600
TIMEOUT_TESTS = 1800
_SUMMARY_RE = re.compile(r"^=+ (.+) in [\d.]+s.* =+$")


@dataclass
class Outcome:
    """What happened to one package."""

    dist: str
    ok: bool = False
    stage: str = "venv"
    summary: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict[str, float])
    output: str = ""


def find_uv() -> str:
    """The uv executable: ``$UV`` (set by ``uv run``), else ``PATH``."""
    candidate = os.environ.get("UV") or shutil.which("uv")
    if not candidate:
        sys.exit("isolation: uv not found (run through `uv run` or `python3 tasks.py isolation`)")
    return candidate


def clean_env() -> dict[str, str]:
    """The environment for child processes: no active venv, no PYTHONPATH leaking the workspace."""
    env = dict(os.environ)
    for name in (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "UV_PROJECT_ENVIRONMENT",
        "CONDA_PREFIX",
    ):
        env.pop(name, None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(
    argv: Sequence[str], *, timeout: float, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def build(uv: str, dist_dir: Path) -> None:
    print(f"isolation: building every wheel into {dist_dir.relative_to(ROOT)}/", flush=True)
    started = time.perf_counter()
    result = run(
        [uv, "build", "--all-packages", "--wheel", "--clear", "-o", str(dist_dir), "--quiet"],
        timeout=TIMEOUT_INSTALL,
    )
    if result.returncode != 0:
        sys.stdout.write(result.stdout + result.stderr)
        sys.exit(f"isolation: uv build failed (exit {result.returncode})")
    print(f"isolation: built in {time.perf_counter() - started:.1f}s", flush=True)


def export_constraints(uv: str, target: Path) -> None:
    """Pin third-party versions to uv.lock so every isolated venv matches the workspace."""
    result = run(
        [
            uv,
            "export",
            "--frozen",
            "--all-packages",
            "--all-extras",
            "--no-emit-workspace",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "-o",
            str(target),
        ],
        timeout=120,
    )
    if result.returncode != 0:
        sys.stdout.write(result.stdout + result.stderr)
        sys.exit("isolation: uv export failed")


def wheel_for(package: WorkspacePackage, dist_dir: Path) -> Path:
    matches = sorted(dist_dir.glob(f"{package.wheel_stem}-{package.version}-*.whl"))
    if len(matches) != 1:
        raise FileNotFoundError(
            f"expected one wheel for {package.dist} in {dist_dir}, found {matches}"
        )
    return matches[0]


def wheel_requirements(
    packages: list[WorkspacePackage],
    closure: list[str],
    dist_dir: Path,
    extras: dict[str, str] | None = None,
) -> list[str]:
    """Requirements naming each wheel of ``closure`` by file (``name[extra] @ file://...`` for extras)."""
    by_name = {p.dist: p for p in packages}
    requirements: list[str] = []
    for name in closure:
        wheel = wheel_for(by_name[name], dist_dir)
        extra = (extras or {}).get(name)
        requirements.append(f"{name}[{extra}] @ {wheel.as_uri()}" if extra else str(wheel))
    return requirements


Stage = Callable[[str, Sequence[str], float], subprocess.CompletedProcess[str]]


def verify_closure(
    stage: Stage, uv: str, python: Path, closure: list[str], outcome: Outcome
) -> bool:
    """Exactly the PyClaw distributions of ``closure`` are installed."""
    listing = stage("verify", [uv, "pip", "list", "--python", str(python), "--format", "json"], 60)
    names = [str(item["name"]) for item in json.loads(listing.stdout or "[]")]
    installed = {n.lower().replace("_", "-") for n in names}
    installed = {n for n in installed if n.startswith("pyclaw-")}
    if installed != set(closure):
        outcome.output = (
            f"installed PyClaw packages {sorted(installed)} != closure {sorted(closure)}"
        )
        return False
    return True


def testing_extra(package: WorkspacePackage) -> str | None:
    return next((extra for extra in package.extras if extra in TESTING_EXTRAS), None)


def isolate(
    uv: str,
    package: WorkspacePackage,
    packages: list[WorkspacePackage],
    dist_dir: Path,
    constraints: Path,
    venv_root: Path,
) -> Outcome:
    """Install ``package`` alone in a fresh venv and run its tests there."""
    outcome = Outcome(package.dist)
    started = time.perf_counter()

    def stage(name: str, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        outcome.stage = name
        t0 = time.perf_counter()
        result = run(argv, timeout=timeout)
        outcome.timings[name] = time.perf_counter() - t0
        outcome.output = result.stdout + result.stderr
        return result

    venv = venv_root / package.dist
    python = venv / "bin" / "python"
    try:
        if stage(
            "venv", [uv, "venv", "--clear", "--quiet", "--python", sys.executable, str(venv)], 120
        ).returncode:
            return outcome
        extra = testing_extra(package)
        install = [uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints)]
        # First the package alone with its declared dependencies: importing it must work there.
        closure = pyclaw_closure(packages, package.dist)
        if stage(
            "install", [*install, *wheel_requirements(packages, closure, dist_dir)], TIMEOUT_INSTALL
        ).returncode:
            return outcome
        if not verify_closure(stage, uv, python, closure, outcome):
            return outcome
        if stage("import", [str(python), "-c", f"import {package.module}"], 120).returncode:
            return outcome
        # Then what its tests need: pytest, pytest-asyncio, hypothesis and its testing extra.
        full = pyclaw_closure(packages, package.dist, [extra] if extra else [])
        extras = {package.dist: extra} if extra else {}
        requirements = wheel_requirements(packages, full, dist_dir, extras)
        if stage("test deps", [*install, *requirements, *TEST_TOOLS], TIMEOUT_INSTALL).returncode:
            return outcome
        if not verify_closure(stage, uv, python, full, outcome):
            return outcome
        tests = stage(
            "pytest",
            [
                str(venv / "bin" / "pytest"),
                "-c",
                str(ROOT / "pyproject.toml"),
                "--rootdir",
                str(ROOT),
                "-p",
                "no:cacheprovider",
                "-q",
                str(package.tests.relative_to(ROOT)),
            ],
            TIMEOUT_TESTS,
        )
        outcome.summary = last_summary(tests.stdout)
        if tests.returncode == 5:
            outcome.summary = "no tests collected"
            return outcome
        outcome.ok = tests.returncode == 0
        if outcome.ok:
            outcome.stage = "done"
        return outcome
    except (OSError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
        outcome.output += f"\n{type(exc).__name__}: {exc}"
        return outcome
    finally:
        outcome.seconds = time.perf_counter() - started


def last_summary(stdout: str) -> str:
    """pytest's closing line without the ``=`` decoration (``12 passed in 0.31s``)."""
    for raw in reversed(stdout.strip().splitlines()):
        line = raw.strip()
        match = _SUMMARY_RE.match(line)
        if match:
            return match.group(1)
        if " in " in line and ("passed" in line or "failed" in line or "error" in line):
            return line.strip("= ")
    return ""


def print_table(outcomes: list[Outcome]) -> None:
    width = max(len(o.dist) for o in outcomes)
    print()
    print(
        f"{'package':<{width}}  {'result':<6}  {'install':>7}  {'pytest':>7}  {'total':>7}  tests"
    )
    print(f"{'-' * width}  ------  -------  -------  -------  -----")
    for o in outcomes:
        result = "ok" if o.ok else "FAIL"
        install = o.timings.get("install", 0.0) + o.timings.get("test deps", 0.0)
        tests = o.timings.get("pytest", 0.0)
        detail = o.summary if o.ok or o.stage == "pytest" else f"failed at {o.stage}"
        print(
            f"{o.dist:<{width}}  {result:<6}  {install:>6.1f}s  {tests:>6.1f}s  {o.seconds:>6.1f}s  {detail}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run each package's tests against its wheel alone."
    )
    parser.add_argument("--only", nargs="+", metavar="PACKAGE", help="just these packages")
    parser.add_argument("--no-build", action="store_true", help="reuse the wheels already in dist/")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--venvs", type=Path, default=ROOT / ".venv-iso")
    args = parser.parse_args(argv)
    uv = find_uv()
    packages = load_workspace(ROOT)
    selected = [p for p in packages if not args.only or p.dist in set(args.only)]
    if not selected:
        print(f"isolation: no package matches {args.only}")
        return 2
    dist_dir: Path = args.dist.resolve()
    if not args.no_build:
        build(uv, dist_dir)
    venv_root: Path = args.venvs.resolve()
    venv_root.mkdir(parents=True, exist_ok=True)
    constraints = venv_root / "constraints.txt"
    export_constraints(uv, constraints)
    outcomes: list[Outcome] = []
    for index, package in enumerate(selected, start=1):
        prefix = f"[{index:>2}/{len(selected)}] {package.dist}"
        print(f"{prefix} ...", flush=True)
        outcome = isolate(uv, package, packages, dist_dir, constraints, venv_root)
        outcomes.append(outcome)
        mark = "ok" if outcome.ok else f"FAILED at {outcome.stage}"
        print(f"{prefix}: {mark} ({outcome.seconds:.1f}s) {outcome.summary}", flush=True)
        if not outcome.ok:
            print("-" * 70)
            print(outcome.output.rstrip()[-6000:])
            print("-" * 70, flush=True)
    print_table(outcomes)
    failed = [o.dist for o in outcomes if not o.ok]
    if failed:
        print(
            f"\nisolation: {len(failed)} of {len(outcomes)} package(s) failed: {', '.join(failed)}"
        )
        return 1
    print(f"\nisolation: all {len(outcomes)} packages pass on their own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
