"""The import-graph checker (scripts/check_imports.py) catches each rule on synthetic workspaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import check_imports
from _workspace import load_workspace, pyclaw_closure

MakePackage = Callable[..., Path]

META_SRC = {"_base.py": "import pydantic\n"}


def messages(root: Path) -> list[str]:
    return [v.render(root) for v in check_imports.check(root)]


@pytest.fixture
def meta(make_package: MakePackage) -> Path:
    return make_package("meta", ["pydantic>=2"], files=META_SRC)


def test_clean_workspace_has_no_violations(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "storage",
        ["pyclaw-meta", "sqlite-utils>=3"],
        files={
            "_db.py": "import sqlite3\nimport sqlite_utils\nfrom pyclaw.meta import Model\n",
            "_lazy.py": "def f():\n    from . import _db\n    return _db\n",
        },
    )
    assert messages(tmp_path) == []


def test_rule1_brain_imports_only_meta(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("storage", files={"x.py": "import pyclaw.meta\n"})
    make_package(
        "brain",
        ["pyclaw-meta", "pyclaw-storage"],
        files={"_loop.py": "import pyclaw.meta\n\n\ndef f():\n    import pyclaw.storage\n"},
    )
    found = messages(tmp_path)
    assert (
        "packages/pyclaw-brain/src/pyclaw/brain/_loop.py:5: pyclaw.brain may import no PyClaw "
        "package but pyclaw.meta (imports pyclaw.storage)"
    ) in found
    assert any(
        m.startswith("packages/pyclaw-brain/pyproject.toml:6: pyclaw-brain may depend on no")
        for m in found
    )


def test_rule2_nobody_imports_runtime(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("runtime", files={"cli.py": "import pyclaw.meta\n"})
    make_package(
        "os",
        ["pyclaw-meta", "pyclaw-runtime"],
        files={
            "_a.py": "import pyclaw.meta\nfrom pyclaw import runtime\n",
            "_b.py": "import importlib\n\n\ndef f():\n    importlib.import_module('pyclaw.runtime.cli')\n",
        },
    )
    found = messages(tmp_path)
    base = "packages/pyclaw-os/src/pyclaw/os/"
    msg = "nothing outside pyclaw-runtime may import pyclaw.runtime (pyclaw-os does)"
    assert f"{base}_a.py:2: {msg}" in found
    assert f"{base}_b.py:5: {msg}" in found
    assert any("nothing may depend on pyclaw-runtime" in m for m in found)


def test_rule3_undeclared_pyclaw_import_even_under_type_checking(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("storage", files={"x.py": "import pyclaw.meta\n"})
    make_package(
        "session",
        files={
            "_log.py": (
                "from typing import TYPE_CHECKING\n"
                "import pyclaw.meta\n"
                "if TYPE_CHECKING:\n"
                "    from pyclaw.storage import Db\n"
            )
        },
    )
    assert messages(tmp_path) == [
        "packages/pyclaw-session/src/pyclaw/session/_log.py:4: imports pyclaw.storage but "
        "pyclaw-session does not declare pyclaw-storage in its dependencies"
    ]


def test_rule3_relative_import_resolves_to_other_package(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("storage", files={"x.py": "import pyclaw.meta\n"})
    make_package("session", files={"sub/_a.py": "from ...storage import x\nimport pyclaw.meta\n"})
    assert messages(tmp_path) == [
        "packages/pyclaw-session/src/pyclaw/session/sub/_a.py:1: imports pyclaw.storage but "
        "pyclaw-session does not declare pyclaw-storage in its dependencies"
    ]


def test_rule3_relative_import_above_top_package(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("session", files={"_a.py": "import pyclaw.meta\nfrom .... import nope\n"})
    assert messages(tmp_path) == [
        "packages/pyclaw-session/src/pyclaw/session/_a.py:2: relative import goes above the top package"
    ]


def test_rule3_declared_cycle(tmp_path: Path, meta: Path, make_package: MakePackage) -> None:
    make_package("a", ["pyclaw-meta", "pyclaw-b"], files={"x.py": "import pyclaw.meta, pyclaw.b\n"})
    make_package("b", ["pyclaw-meta", "pyclaw-a"], files={"x.py": "import pyclaw.meta, pyclaw.a\n"})
    found = messages(tmp_path)
    assert found == [
        "packages/pyclaw-a/pyproject.toml:1: PyClaw dependency cycle: pyclaw-a -> pyclaw-b -> pyclaw-a"
    ]


def test_rule4_undeclared_third_party(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "llm", files={"_p.py": "import pyclaw.meta\n\n\ndef f():\n    import hypothesis\n"}
    )
    assert messages(tmp_path) == [
        "packages/pyclaw-llm/src/pyclaw/llm/_p.py:5: imports 'hypothesis' (distribution "
        "hypothesis) but pyclaw-llm does not declare it"
    ]


def test_rule4_not_installed_module(tmp_path: Path, meta: Path, make_package: MakePackage) -> None:
    make_package("llm", files={"_p.py": "import pyclaw.meta\nimport no_such_module_xyz\n"})
    [only] = messages(tmp_path)
    assert only.startswith(
        "packages/pyclaw-llm/src/pyclaw/llm/_p.py:2: imports 'no_such_module_xyz'"
    )


def test_rule4_declared_but_unused(tmp_path: Path, meta: Path, make_package: MakePackage) -> None:
    make_package("llm", ["pyclaw-meta", "hypothesis>=6"], files={"_p.py": "import pyclaw.meta\n"})
    [only] = messages(tmp_path)
    assert only.startswith(
        "packages/pyclaw-llm/pyproject.toml:6: dependencies declares 'hypothesis>=6' but nothing "
        "in src imports it"
    )


def test_rule4_unused_ok_needs_an_entry(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "secret",
        ["pyclaw-meta", "hypothesis>=6"],
        files={"_p.py": "import pyclaw.meta\n"},
        tool='[tool.pyclaw.imports.unused-ok]\nhypothesis = "loaded as a plug-in"\n',
    )
    assert messages(tmp_path) == []


def test_rule4_extra_needs_a_guarded_import(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "llm",
        extras={"fancy": ["hypothesis>=6"], "testing": ["rich"]},
        files={
            "_eager.py": "import pyclaw.meta\nimport hypothesis\n",
            "_lazy.py": "def f():\n    import hypothesis\n",
            "_try.py": "try:\n    import hypothesis\nexcept ImportError:\n    hypothesis = None\n",
        },
    )
    [only] = messages(tmp_path)
    assert only.startswith(
        "packages/pyclaw-llm/src/pyclaw/llm/_eager.py:2: imports 'hypothesis' at module level, "
        "but hypothesis is only in the optional extra [fancy]"
    )


def test_rule4_extra_declared_but_unused(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "llm", extras={"fancy": ["hypothesis>=6"]}, files={"_p.py": "import pyclaw.meta\n"}
    )
    [only] = messages(tmp_path)
    assert "optional extra [fancy] declares 'hypothesis>=6' but nothing in src imports it" in only


def test_rule5_meta_depends_on_pydantic_alone(tmp_path: Path, make_package: MakePackage) -> None:
    make_package(
        "meta",
        ["pydantic>=2", "rich"],
        files={"_base.py": "import pydantic\nimport rich\n"},
    )
    assert messages(tmp_path) == [
        "packages/pyclaw-meta/pyproject.toml:6: pyclaw-meta depends on pydantic alone "
        "(dependencies has 'rich')"
    ]


def test_module_name_must_match_directory(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    directory = make_package("llm", files={"_p.py": "import pyclaw.meta\n"})
    pyproject = directory / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pyclaw.llm"', '"pyclaw.lm"'))
    assert any("module-name 'pyclaw.lm' does not match" in m for m in messages(tmp_path))


def test_main_prints_violations_and_exits_1(
    tmp_path: Path, meta: Path, make_package: MakePackage, capsys: pytest.CaptureFixture[str]
) -> None:
    make_package("llm", files={"_p.py": "import pyclaw.meta\nimport pyclaw.nothere\n"})
    assert check_imports.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "packages/pyclaw-llm/src/pyclaw/llm/_p.py:2: imports pyclaw.nothere, which is not" in out


def test_main_exits_0_when_clean(
    tmp_path: Path, meta: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_imports.main([str(tmp_path)]) == 0
    assert "import graph OK: 1 packages" in capsys.readouterr().out


def test_closure_follows_dependencies_and_testing_extra(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package("storage")
    make_package("session", ["pyclaw-meta", "pyclaw-storage"])
    make_package("eval", extras={"testing": ["pyclaw-session"]})
    packages = load_workspace(tmp_path)
    assert pyclaw_closure(packages, "pyclaw-eval") == ["pyclaw-meta", "pyclaw-eval"]
    assert pyclaw_closure(packages, "pyclaw-eval", ["testing"]) == [
        "pyclaw-meta",
        "pyclaw-storage",
        "pyclaw-session",
        "pyclaw-eval",
    ]


def test_rule4_the_extras_own_module_may_import_it_eagerly(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "session",
        extras={"testing": ["hypothesis>=6"]},
        files={
            "_log.py": "import pyclaw.meta\n",
            "testing/__init__.py": "import hypothesis\nfrom pyclaw.session.testing._c import C\n",
            "testing/_c.py": "import hypothesis.strategies\n",
        },
    )
    assert messages(tmp_path) == []


def test_rule4_the_extras_module_is_imported_only_lazily(
    tmp_path: Path, meta: Path, make_package: MakePackage
) -> None:
    make_package(
        "session",
        extras={"testing": ["hypothesis>=6"]},
        files={
            "__init__.py": "import pyclaw.meta\nfrom pyclaw.session import testing\n",
            "_ok.py": "def f():\n    from pyclaw.session.testing import C\n",
            "testing/__init__.py": "import hypothesis\n",
        },
    )
    assert messages(tmp_path) == [
        "packages/pyclaw-session/src/pyclaw/session/__init__.py:2: imports pyclaw.session.testing "
        "at module level, but it needs the optional extra [testing]: import it lazily"
    ]
