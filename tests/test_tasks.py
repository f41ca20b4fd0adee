"""tasks.py (the README's two commands), the Makefile wrapper, .ci/run, and scripts/check_dist.py."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import tasks

import check_dist
from _workspace import load_package

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_judge_pytest_keeps_the_counts() -> None:
    runner = tasks.Runner("uv")
    lines = ["...", "===== 3 failed, 10 passed, 2 skipped, 1 error in 3.21s ====="]
    assert tasks.judge_pytest(runner, lines) is None
    assert runner.pytest_counts == {"passed": 10, "failed": 4, "skipped": 2}


def test_judge_pytest_fails_when_nothing_ran() -> None:
    runner = tasks.Runner("uv")
    assert (
        tasks.judge_pytest(runner, ["=== no tests ran in 0.01s ==="]) == "pytest collected no tests"
    )
    assert tasks.judge_pytest(runner, ["ImportError while loading conftest"]) is not None


def test_judge_typecheck_fails_when_no_files_were_checked() -> None:
    runner = tasks.Runner("uv")
    assert tasks.judge_typecheck(runner, ["No source files found.", "0 errors"]) is not None
    assert tasks.judge_typecheck(runner, ["0 errors, 0 warnings, 0 notes"]) is None


def test_unknown_task_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert tasks.main(["no-such-task"]) == 2
    assert "unknown task 'no-such-task'" in capsys.readouterr().out


def test_help_lists_every_task(capsys: pytest.CaptureFixture[str]) -> None:
    assert tasks.main(["--help"]) == 0
    out = capsys.readouterr().out
    for task in [*tasks.TASKS, "bootstrap"]:
        assert re.search(rf"^  {task}\b", out, re.MULTILINE), task


def test_makefile_targets_match_the_tasks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    match = re.search(r"^TASKS := (.+)$", makefile, re.MULTILINE)
    assert match
    assert set(match.group(1).split()) == {*tasks.TASKS, "bootstrap"}


def test_ci_script_is_executable_strict_and_runs_the_test_task() -> None:
    script = REPO_ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^exec python3 tasks\.py test$", text, re.MULTILINE)


def test_find_uv_finds_an_executable() -> None:
    found = tasks.find_uv()
    assert found is not None
    assert os.access(found, os.X_OK)


def _wheel(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


def test_check_dist_accepts_a_clean_namespace_wheel(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    package = load_package(make_package("llm"))
    wheel = _wheel(
        tmp_path / "pyclaw_llm-0.1.0-py3-none-any.whl",
        [
            "pyclaw/",
            "pyclaw/llm/",
            "pyclaw/llm/__init__.py",
            "pyclaw/llm/py.typed",
            "pyclaw_llm-0.1.0.dist-info/METADATA",
        ],
    )
    assert check_dist.check_wheel(package, wheel) == []


def test_check_dist_rejects_a_namespace_init_and_strays(
    tmp_path: Path, make_package: Callable[..., Path]
) -> None:
    package = load_package(make_package("llm"))
    wheel = _wheel(
        tmp_path / "pyclaw_llm-0.1.0-py3-none-any.whl",
        ["pyclaw/__init__.py", "pyclaw/llm/__init__.py", "tests/test_x.py"],
    )
    problems = check_dist.check_wheel(package, wheel)
    assert any("contains pyclaw/__init__.py" in p for p in problems)
    assert any("missing pyclaw/llm/py.typed" in p for p in problems)
    assert any("tests/test_x.py" in p for p in problems)
