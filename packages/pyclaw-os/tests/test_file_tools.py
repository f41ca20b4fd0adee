"""read_file, write_file, edit_file, list_dir, glob and grep inside the workspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pyclaw_os_fakes import World

from pyclaw.meta import RiskLevel, ToolCall, ToolContext
from pyclaw.os import LocalToolHost, ToolEnv, _file_tools, builtin_tools


def test_risk_levels_and_trust(host: LocalToolHost) -> None:
    risks = {spec.name: spec.risk for spec in host.list_tools()}
    assert risks["read_file"] == RiskLevel.SAFE
    assert risks["write_file"] == RiskLevel.MODERATE
    assert risks["edit_file"] == RiskLevel.MODERATE
    assert risks["exec"] == RiskLevel.RISKY
    read_file = host.registry.get("read_file")
    assert read_file is not None
    assert read_file.untrusted


async def test_read_file_whole_and_by_lines(world: World, call: Any) -> None:
    lines = "".join(f"l{i}\n" for i in range(1, 11))
    (world.workspace / "a.txt").write_text(lines)
    whole = await call("read_file", path="a.txt")
    assert (whole.status, whole.content, whole.untrusted) == ("ok", lines, True)
    part = await call("read_file", path="./a.txt", offset=3, limit=2)
    assert part.content == "l3\nl4\n[lines 3-4 of 10; call read_file with offset=5 for more]"
    tail = await call("read_file", path="a.txt", offset=9)
    assert tail.content == "l9\nl10\n[lines 9-10 of 10]"
    past = await call("read_file", path="a.txt", offset=50)
    assert "past the end" in past.content
    (world.workspace / "empty").write_text("")
    assert (await call("read_file", path="empty")).content == "[empty file]"


async def test_read_file_refuses_binary_huge_missing_and_dirs(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "bin").write_bytes(b"\x7fELF\x00\x01\x02")
    result = await call("read_file", path="bin")
    assert result.status == "error"
    assert "binary file" in result.content
    monkeypatch.setattr(_file_tools, "MAX_READ_BYTES", 100)
    (world.workspace / "big.txt").write_text("x" * 101)
    result = await call("read_file", path="big.txt")
    assert result.status == "error"
    assert "file too large (101 bytes, the limit is 100)" in result.content
    assert (
        await call("read_file", path="nope.txt")
    ).content == "nope.txt: no such file or directory"
    (world.workspace / "d").mkdir()
    assert (await call("read_file", path="d")).content == "d: is a directory"
    os.mkfifo(world.workspace / "fifo")
    assert (await call("read_file", path="fifo")).content == "fifo: not a regular file"


async def test_write_file_creates_parents_atomically_and_keeps_mode(
    world: World, call: Any
) -> None:
    result = await call("write_file", path="deep/er/new.txt", content="héllo\n")
    assert result.status == "ok"
    assert result.content == "wrote 7 bytes to deep/er/new.txt"
    target = world.workspace / "deep" / "er" / "new.txt"
    assert target.read_text() == "héllo\n"
    target.chmod(0o600)
    assert (await call("write_file", path="deep/er/new.txt", content="second")).status == "ok"
    assert target.read_text() == "second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["new.txt"]  # no temp file left
    result = await call("write_file", path="deep", content="x")
    assert (result.status, result.content) == ("error", "deep: is a directory")


async def test_edit_file_unique_ambiguous_missing_and_replace_all(world: World, call: Any) -> None:
    target = world.workspace / "code.py"
    target.write_text("a = 1\nb = 1\nc = 2\n")
    result = await call("edit_file", path="code.py", old_text="c = 2", new_text="c = 3")
    assert (result.status, result.content) == ("ok", "replaced 1 occurrence in code.py")
    assert target.read_text() == "a = 1\nb = 1\nc = 3\n"
    result = await call("edit_file", path="code.py", old_text="= 1", new_text="= 0")
    assert result.status == "error"
    assert "occurs 2 times" in result.content
    assert target.read_text() == "a = 1\nb = 1\nc = 3\n"
    result = await call("edit_file", path="code.py", old_text="zzz", new_text="y")
    assert result.status == "error"
    assert "old_text not found" in result.content
    result = await call(
        "edit_file", path="code.py", old_text="= 1", new_text="= 0", replace_all=True
    )
    assert result.content == "replaced 2 occurrences in code.py"
    assert target.read_text() == "a = 0\nb = 0\nc = 3\n"
    empty = await call("edit_file", path="code.py", old_text="", new_text="y")
    assert empty.status == "error"
    assert "old_text" in empty.content


async def test_symlinks_inside_the_workspace_are_followed(world: World, call: Any) -> None:
    ws = world.workspace
    (ws / "real").mkdir()
    (ws / "real" / "f.txt").write_text("inner\n")
    (ws / "alias").symlink_to("real")
    (ws / "sub").mkdir()
    (ws / "sub" / "back").symlink_to(Path("..") / "real" / "f.txt")
    (ws / "absolute").symlink_to(ws / "real" / "f.txt")
    for path in ("alias/f.txt", "sub/back", "absolute"):
        result = await call("read_file", path=path)
        assert (result.status, result.content) == ("ok", "inner\n"), path
    result = await call("write_file", path="sub/back", content="via link\n")
    assert result.content == "wrote 9 bytes to real/f.txt"
    assert (ws / "sub" / "back").is_symlink()
    assert (ws / "real" / "f.txt").read_text() == "via link\n"
    assert (await call("list_dir", path="alias")).content == "f.txt  9"


async def test_symlink_loops_are_refused(world: World, call: Any) -> None:
    (world.workspace / "x").symlink_to("y")
    (world.workspace / "y").symlink_to("x")
    result = await call("read_file", path="x")
    assert result.status == "error"
    assert "too many levels of symlinks" in result.content


async def test_list_dir(world: World, call: Any) -> None:
    ws = world.workspace
    (ws / "b.txt").write_text("12345")
    (ws / "a").mkdir()
    (ws / "link").symlink_to("b.txt")
    result = await call("list_dir")
    assert result.content == "a/\nb.txt  5\nlink@"
    assert (await call("list_dir", path="a")).content == "[empty directory]"
    missing = await call("list_dir", path="zz")
    assert (missing.status, missing.content) == ("error", "zz: no such file or directory")
    assert (await call("list_dir", path="b.txt")).content == "b.txt: not a directory"


async def test_glob(world: World, call: Any) -> None:
    ws = world.workspace
    for rel in ("src/a.py", "src/pkg/b.py", "src/pkg/c.txt", "top.py", ".git/x.py"):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("x")
    assert (await call("glob", pattern="**/*.py")).content == "src/a.py\nsrc/pkg/b.py\ntop.py"
    assert (await call("glob", pattern="src/*")).content == "src/a.py\nsrc/pkg/"
    assert (await call("glob", pattern="*.py")).content == "top.py"
    assert (await call("glob", pattern="src/**/?.txt")).content == "src/pkg/c.txt"
    capped = await call("glob", pattern="**", max_results=2)
    assert capped.content.splitlines()[-1] == "[more than 2 matches not shown]"
    assert len(capped.content.splitlines()) == 3
    none = await call("glob", pattern="*.rs")
    assert none.content == "[no paths match '*.rs']"


async def test_grep(world: World, call: Any) -> None:
    ws = world.workspace
    (ws / "src").mkdir()
    (ws / "src" / "a.py").write_text("import os\ndef main():\n    return os.getcwd()\n")
    (ws / "notes.md").write_text("Use OS tools\n")
    (ws / "blob.bin").write_bytes(b"os\x00os")
    result = await call("grep", pattern=r"\bos\b")
    assert result.content == "src/a.py:1: import os\nsrc/a.py:3:     return os.getcwd()"
    assert result.untrusted
    ci = await call("grep", pattern=r"\bos\b", ignore_case=True, glob="*.md")
    assert ci.content == "notes.md:1: Use OS tools"
    scoped = await call("grep", pattern="def", path="src")
    assert scoped.content == "src/a.py:2: def main():"
    single = await call("grep", pattern="return", path="src/a.py")
    assert single.content == "src/a.py:3:     return os.getcwd()"
    by_path = await call("grep", pattern="os", glob="src/**/*.py", max_results=1)
    assert by_path.content == "src/a.py:1: import os\n[more than 1 matching lines not shown]"
    bad = await call("grep", pattern="(")
    assert bad.status == "error"
    assert "bad regular expression" in bad.content
    assert (await call("grep", pattern="zzz")).content == "[no lines match 'zzz']"


async def test_workspace_must_exist(tmp_path: Path, context: Any) -> None:
    env = ToolEnv(workspace=tmp_path / "missing")
    host = LocalToolHost(env, builtin_tools(env))
    result = await host.execute(ToolCall(name="list_dir", arguments={}), context)
    assert result.status == "error"
    assert "does not exist" in result.content


async def test_context_workspace_wins_over_the_env(
    world: World, host: LocalToolHost, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "only-here.txt").write_text("x")
    ctx = ToolContext(session_id="s", agent="a", workspace=str(other))
    result = await host.execute(ToolCall(name="list_dir", arguments={}), ctx)
    assert result.content == "only-here.txt  1"
