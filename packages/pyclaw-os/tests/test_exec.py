"""exec: output and exit code, cwd in the workspace, timeouts kill the whole process group,
output caps, a scrubbed environment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pyclaw_os_fakes import World

from pyclaw.meta import ToolCall, ToolContext
from pyclaw.os import ExecTool, LocalToolHost, ToolEnv, scrub_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are still running (zombies count as dead)."""
    alive: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in {"Z", "X"}:
            alive.append(int(entry.name))
    return alive


async def wait_until_gone(pgid: int, seconds: float = 10.0) -> list[int]:
    """Poll /proc (the processes are not ours to wait for: they were the shell's children)."""
    for _ in range(int(seconds / 0.02)):
        if not live_group_members(pgid):
            break
        await asyncio.sleep(0.02)
    return live_group_members(pgid)


async def test_output_and_exit_code(call: Any) -> None:
    result = await call("exec", command="echo out; echo err >&2; exit 3")
    assert result.status == "ok"
    assert result.content == "out\nerr\n[exit code: 3]"
    assert not result.untrusted
    quiet = await call("exec", command="true")
    assert quiet.content == "[exit code: 0]"


async def test_cwd_is_inside_the_workspace(world: World, call: Any) -> None:
    (world.workspace / "sub").mkdir()
    result = await call("exec", command="pwd", cwd="sub")
    assert result.content == f"{(world.workspace / 'sub').resolve()}\n[exit code: 0]"
    top = await call("exec", command="pwd")
    assert top.content.startswith(str(world.workspace.resolve()))
    escape = await call("exec", command="pwd", cwd="..")
    assert escape.status == "error"
    assert "refused" in escape.content
    (world.workspace / "out").symlink_to(world.outside)
    escape = await call("exec", command="pwd", cwd="out")
    assert escape.status == "error"


async def test_timeout_kills_the_whole_process_group(call: Any) -> None:
    started = time.monotonic()
    result = await call("exec", command="echo $$; sleep 100 & sleep 100", timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert result.status == "timeout"
    assert result.content.startswith("command timed out after 0.5 s; its process group was killed")
    pgid = int(result.content.splitlines()[1])
    assert await wait_until_gone(pgid) == []


async def test_configured_timeout_kills_the_group(world: World, context: ToolContext) -> None:
    env = ToolEnv(workspace=world.workspace, settings={"exec": {"timeout_s": 1.5}})
    host = LocalToolHost(env, [ExecTool()])
    marker = world.workspace / "pgid"
    call = ToolCall(name="exec", arguments={"command": "echo $$ > pgid; sleep 100 & sleep 100"})
    result = await host.execute(call, context)
    assert result.status == "timeout"
    assert await wait_until_gone(int(marker.read_text())) == []


async def test_background_jobs_do_not_outlive_the_command(world: World, call: Any) -> None:
    result = await call("exec", command="sleep 100 & echo $$")
    assert result.status == "ok"
    pgid = int(result.content.splitlines()[0])
    assert await wait_until_gone(pgid) == []


async def test_cancelling_the_call_kills_the_group(
    world: World, host: LocalToolHost, context: ToolContext
) -> None:
    marker = world.workspace / "pgid"
    call = ToolCall(name="exec", arguments={"command": "echo $$ > pgid; sleep 100"})
    task = asyncio.create_task(host.execute(call, context))
    for _ in range(250):
        if marker.exists() and marker.read_text().strip():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until_gone(int(marker.read_text())) == []


async def test_output_is_capped(world: World, context: ToolContext) -> None:
    env = ToolEnv(
        workspace=world.workspace,
        settings={"exec": {"max_capture_bytes": 5000, "max_output_chars": 1000}},
    )
    host = LocalToolHost(env, [ExecTool()])
    call = ToolCall(name="exec", arguments={"command": "yes 0123456789 | head -c 100000"})
    result = await host.execute(call, context)
    assert result.status == "ok"
    assert "[output capped: 95,000 more bytes discarded]" in result.content
    assert result.truncated
    assert result.content.endswith("[exit code: 0]")
    assert len(result.content) < 1200


async def test_environment_is_scrubbed(call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYCLAW_SECRET_TELEGRAM", "s1")
    monkeypatch.setenv("OPENAI_API_KEY", "s2")
    monkeypatch.setenv("GITHUB_TOKEN", "s3")
    monkeypatch.setenv("DB_PASSWORD", "s4")
    monkeypatch.setenv("my_secret_thing", "s5")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    result = await call("exec", command="env")
    assert "HARMLESS_SETTING=visible" in result.content
    for value in ("s1", "s2", "s3", "s4", "s5"):
        assert f"={value}\n" not in result.content
    assert "PATH=" in result.content


def test_scrub_env() -> None:
    env = {"PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "x", "Passwordless": "x", "HOME": "/h"}
    assert scrub_env(env) == {"PATH": "/bin", "HOME": "/h"}


def test_exec_is_risky() -> None:
    assert ExecTool().spec().risk == "risky"
