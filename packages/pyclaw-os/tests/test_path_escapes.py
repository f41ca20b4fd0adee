"""The security table: no file tool reads, writes or lists outside the workspace.

Every escape (``..``, absolute paths, ``~``, NUL, symlinks to outside files and directories, a
symlink inside a subdirectory climbing out, an absolute symlink, a symlink swapped in between
check and use) is refused by read_file, write_file, edit_file, list_dir, glob and grep, and the
outside directory is byte-for-byte unchanged afterwards.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyclaw_os_fakes import SECRET, World

from pyclaw.os import _paths

LEAK = SECRET.strip()


def plain(world: World) -> None:
    del world


def link_to_outside_file(world: World) -> None:
    (world.workspace / "link").symlink_to(world.secret)


def link_to_outside_dir(world: World) -> None:
    (world.workspace / "link").symlink_to(world.outside)


def relative_link_climbing_out(world: World) -> None:
    sub = world.workspace / "sub"
    sub.mkdir()
    (sub / "up").symlink_to(Path("..") / ".." / "outside")


def absolute_link_outside(world: World) -> None:
    (world.workspace / "abs").symlink_to("/etc")


def chain_of_links_out(world: World) -> None:
    (world.workspace / "a").symlink_to("b")
    (world.workspace / "b").symlink_to(world.outside)


# (case id, setup, path handed to the tools)
CASES: list[tuple[str, Callable[[World], None], str]] = [
    ("dotdot", plain, ".."),
    ("dotdot-etc-passwd", plain, "../../etc/passwd"),
    ("dotdot-sibling", plain, "../outside/secret.txt"),
    ("dotdot-in-the-middle", plain, "sub/../../outside/secret.txt"),
    ("absolute-etc-passwd", plain, "/etc/passwd"),
    ("absolute-secret", plain, "{outside}/secret.txt"),
    ("tilde", plain, "~"),
    ("tilde-file", plain, "~/.bashrc"),
    ("nul-byte", plain, "a\x00b"),
    ("symlink-file", link_to_outside_file, "link"),
    ("symlink-dir", link_to_outside_dir, "link/secret.txt"),
    ("symlink-dir-itself", link_to_outside_dir, "link"),
    ("symlink-in-subdir-up-and-out", relative_link_climbing_out, "sub/up/secret.txt"),
    ("symlink-absolute", absolute_link_outside, "abs/passwd"),
    ("symlink-chain", chain_of_links_out, "a/secret.txt"),
]


def calls_for(path: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("read_file", {"path": path}),
        ("write_file", {"path": path, "content": "pwned\n"}),
        ("write_file", {"path": f"{path}/new.txt", "content": "pwned\n"}),
        ("edit_file", {"path": path, "old_text": "TOP", "new_text": "pwned"}),
        ("list_dir", {"path": path}),
        ("grep", {"pattern": "SECRET", "path": path}),
    ]


@pytest.mark.parametrize(("setup", "raw_path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_escapes_are_refused_by_every_file_tool(
    world: World, call: Any, setup: Callable[[World], None], raw_path: str
) -> None:
    setup(world)
    path = raw_path.format(outside=world.outside)
    before = world.outside_snapshot()
    for name, arguments in calls_for(path):
        result = await call(name, **arguments)
        assert result.status == "error", (name, arguments, result.content)
        assert LEAK not in result.content, (name, result.content)
        assert "root:" not in result.content, (name, result.content)
    assert world.outside_snapshot() == before
    assert not (world.outside / "new.txt").exists()


@pytest.mark.parametrize(
    "pattern", ["../*", "../outside/*", "/etc/*", "{outside}/*", "~/*", "**/../*"]
)
async def test_glob_patterns_cannot_leave(world: World, call: Any, pattern: str) -> None:
    result = await call("glob", pattern=pattern.format(outside=world.outside))
    assert result.status == "error"
    assert "refused" in result.content


@pytest.mark.parametrize(
    ("setup", "raw_path"), [c[1:] for c in CASES[9:]], ids=[c[0] for c in CASES[9:]]
)
async def test_walking_tools_never_follow_symlinks_out(
    world: World, call: Any, setup: Callable[[World], None], raw_path: str
) -> None:
    setup(world)
    (world.workspace / "inside.txt").write_text("harmless\n")
    listed = await call("glob", pattern="**")
    assert listed.status == "ok"
    assert "secret.txt" not in listed.content
    assert "inside.txt" in listed.content
    found = await call("grep", pattern="SECRET|root:")
    assert found.status == "ok"
    assert LEAK not in found.content
    assert found.content.startswith("[no lines match")
    deep = await call("glob", pattern=f"{raw_path.split('/', maxsplit=1)[0]}/*")
    assert "secret.txt" not in deep.content


# --- a symlink swapped in between check and use -------------------------------------------------


def swap_on_open(
    monkeypatch: pytest.MonkeyPatch, name: str, swap: Callable[[], None], *, after: bool = False
) -> list[str]:
    """Make ``_paths.open_at`` run ``swap`` just before (or after) it first opens ``name``."""
    real = _paths.open_at
    swapped: list[str] = []

    def open_at(n: str, flags: int, dir_fd: int, mode: int = 0o777) -> int:
        if n == name and not swapped:
            swapped.append(n)
            if not after:
                swap()
            fd = real(n, flags, dir_fd, mode)
            if after:
                swap()
            return fd
        return real(n, flags, dir_fd, mode)

    monkeypatch.setattr(_paths, "open_at", open_at)
    return swapped


def file_to_link(world: World, rel: str) -> Callable[[], None]:
    def swap() -> None:
        target = world.workspace / rel
        target.unlink()
        target.symlink_to(world.secret)

    return swap


def dir_to_link(world: World, rel: str) -> Callable[[], None]:
    def swap() -> None:
        target = world.workspace / rel
        target.rename(target.with_name(target.name + "_old"))
        target.symlink_to(world.outside)

    return swap


async def test_swap_file_for_link_before_read(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "f.txt").write_text("mine\n")
    swapped = swap_on_open(monkeypatch, "f.txt", file_to_link(world, "f.txt"))
    result = await call("read_file", path="f.txt")
    assert swapped
    assert result.status == "error"
    assert "leads outside the workspace" in result.content
    assert LEAK not in result.content


async def test_swap_file_for_link_after_open_edit_replaces_the_link(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "f.txt").write_text("hello TOP\n")
    before = world.outside_snapshot()
    swapped = swap_on_open(monkeypatch, "f.txt", file_to_link(world, "f.txt"), after=True)
    result = await call("edit_file", path="f.txt", old_text="TOP", new_text="there")
    assert swapped
    assert result.status == "ok", result.content
    assert world.outside_snapshot() == before  # the link was replaced, not written through
    assert not (world.workspace / "f.txt").is_symlink()
    assert (world.workspace / "f.txt").read_text() == "hello there\n"


async def test_swap_parent_dir_for_link_during_write(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "sub").mkdir()
    before = world.outside_snapshot()
    swapped = swap_on_open(monkeypatch, "sub", dir_to_link(world, "sub"), after=True)
    result = await call("write_file", path="sub/f.txt", content="data\n")
    assert swapped
    assert result.status == "ok", result.content
    assert world.outside_snapshot() == before
    assert not (world.outside / "f.txt").exists()
    # The write landed in the directory that was checked, wherever it was moved.
    assert (world.workspace / "sub_old" / "f.txt").read_text() == "data\n"


async def test_swap_parent_dir_for_link_before_write(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "sub").mkdir()
    before = world.outside_snapshot()
    swap_on_open(monkeypatch, "sub", dir_to_link(world, "sub"))
    result = await call("write_file", path="sub/f.txt", content="data\n")
    assert result.status == "error"
    assert world.outside_snapshot() == before
    assert not (world.outside / "f.txt").exists()


@pytest.mark.parametrize("tool", ["grep", "glob", "list_dir"])
async def test_swap_subdir_for_link_while_walking(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch, tool: str
) -> None:
    sub = world.workspace / "sub"
    sub.mkdir()
    (sub / "secret.txt").write_text("decoy\n")
    swap_on_open(monkeypatch, "sub", dir_to_link(world, "sub"))
    arguments = {
        "grep": {"pattern": "SECRET|decoy"},
        "glob": {"pattern": "sub/*"},
        "list_dir": {"path": "sub"},
    }[tool]
    result = await call(tool, **arguments)
    assert LEAK not in result.content
    assert "sub/secret.txt" not in result.content
    if tool == "list_dir":
        assert result.status == "error"


async def test_swap_file_for_link_while_grepping(
    world: World, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (world.workspace / "f.txt").write_text("nothing here\n")
    swapped = swap_on_open(monkeypatch, "f.txt", file_to_link(world, "f.txt"))
    result = await call("grep", pattern="SECRET")
    assert swapped
    assert result.status == "ok"
    assert LEAK not in result.content


async def test_a_racing_thread_never_gets_a_read_outside(world: World, call: Any) -> None:
    """A thread flips a name between a file and a symlink to the secret while reads run."""
    target = world.workspace / "flip.txt"
    target.write_text("inside\n")
    stop = threading.Event()

    def flip() -> None:
        tmp_link = world.workspace / ".flip-link"
        tmp_file = world.workspace / ".flip-file"
        while not stop.is_set():
            tmp_link.unlink(missing_ok=True)
            tmp_link.symlink_to(world.secret)
            os.replace(tmp_link, target)
            tmp_file.write_text("inside\n")
            os.replace(tmp_file, target)

    thread = threading.Thread(target=flip)
    thread.start()
    try:
        outcomes = set()
        for _ in range(200):
            result = await call("read_file", path="flip.txt")
            assert LEAK not in result.content
            outcomes.add(result.status)
    finally:
        stop.set()
        thread.join()
    assert outcomes <= {"ok", "error"}
    assert "ok" in outcomes
