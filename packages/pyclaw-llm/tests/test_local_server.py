"""``LocalServer`` against a fake ``llama-server`` (a Python script): start, health, restart,
stop, no orphans, missing binary or model."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyclaw.llm.local import (
    BINARY_ENV,
    LocalServer,
    LocalServerError,
    _locate,
    find_default_model,
    find_llama_server,
)

FAKE = Path(__file__).with_name("test_local_fake_llama.py")


def fake_binary(directory: Path) -> Path:
    """An executable that runs the fake server with this interpreter."""
    binary = directory / "llama-server"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    binary.chmod(0o755)
    return binary


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead)."""
    if Path("/proc/self/stat").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


class Setup:
    """A fake binary, a model file, a record file and the environment knobs for one test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.binary = fake_binary(tmp_path)
        self.model = tmp_path / "tiny.gguf"
        self.model.write_bytes(b"GGUF")
        self.record = tmp_path / "starts.jsonl"
        self.env = {**os.environ, "FAKE_LLAMA_RECORD": str(self.record)}
        self.logs = tmp_path / "logs"

    def server(self, **options: Any) -> LocalServer:
        options.setdefault("startup_timeout", 10.0)
        options.setdefault("restart_backoff", 0.05)
        options.setdefault("stop_grace", 2.0)
        return LocalServer(
            model_path=self.model, binary=self.binary, log_dir=self.logs, env=self.env, **options
        )

    def starts(self) -> list[dict[str, Any]]:
        return records(self.record)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


async def test_start_runs_the_server_with_llama_server_arguments_and_waits_for_health(
    setup: Setup,
) -> None:
    async with setup.server() as server:
        assert server.api_base is not None
        assert server.api_base.startswith("http://127.0.0.1:")
        assert server.api_base.endswith("/v1")
        port = server.api_base.removeprefix("http://127.0.0.1:").removesuffix("/v1")
        (start,) = setup.starts()
        assert start["pid"] == server.pid
        assert start["argv"] == [
            *("-m", str(setup.model), "--host", "127.0.0.1", "--port", port),
            *("-c", "4096", "-t", "1", "-np", "1", "--jinja", "--no-webui"),
            *("--alias", "tiny"),
        ]
        assert await server.ensure_running() == server.api_base  # no second process
        assert len(setup.starts()) == 1
        pid = server.pid
    assert pid is not None
    assert not alive(pid)
    assert server.api_base is None
    log = (setup.logs / "llama-server.log").read_text()
    assert "==> pyclaw:" in log
    assert "fake-llama: listening on port" in log


async def test_start_waits_while_the_model_loads(setup: Setup) -> None:
    setup.env["FAKE_LLAMA_LOAD_SECONDS"] = "0.6"
    started = time.monotonic()
    async with setup.server() as server:
        assert time.monotonic() - started >= 0.6
        assert server.pid is not None


async def test_a_server_that_never_gets_healthy_times_out_and_is_killed(setup: Setup) -> None:
    setup.env["FAKE_LLAMA_NEVER_READY"] = "1"
    server = setup.server(startup_timeout=0.5)
    with pytest.raises(LocalServerError, match=r"not healthy after 0\.5 s") as caught:
        await server.start()
    assert str(setup.logs / "llama-server.log") in caught.value.message
    (start,) = setup.starts()
    assert not alive(start["pid"])
    assert server.pid is None


async def test_a_server_that_exits_at_start_reports_its_last_log_line(setup: Setup) -> None:
    flag = setup.tmp / "broken"
    flag.touch()
    setup.env["FAKE_LLAMA_EXIT_IF"] = str(flag)
    with pytest.raises(LocalServerError) as caught:
        await setup.server().start()
    message = caught.value.message
    assert "exited with status 1 while starting" in message
    assert "failed to load model 'fake.gguf'" in message
    assert caught.value.retryable


async def test_a_crashed_server_is_restarted_on_a_new_process(setup: Setup) -> None:
    async with setup.server() as server:
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: server.pid not in (None, first))
        assert server.restarts == 1
        api_base = await server.ensure_running()
        assert api_base == server.api_base
        assert [s["pid"] for s in setup.starts()] == [first, server.pid]


async def test_ensure_running_waits_for_a_restart_in_progress(setup: Setup) -> None:
    async with setup.server(restart_backoff=0.4) as server:
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: server.api_base is None)
        api_base = await server.ensure_running()
        assert server.pid not in (None, first)
        assert api_base == server.api_base
        assert len(setup.starts()) == 2  # the caller did not start a third one


async def test_restarts_are_bounded_then_the_failure_is_reported(setup: Setup) -> None:
    flag = setup.tmp / "broken"
    setup.env["FAKE_LLAMA_EXIT_IF"] = str(flag)
    server = setup.server(max_restarts=2, restart_backoff=0.01)
    await server.start()
    flag.touch()  # from now on every start fails
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    watcher = server._watcher  # pyright: ignore[reportPrivateUsage] - wait for the give-up
    assert watcher is not None
    await asyncio.wait_for(watcher, 10)
    with pytest.raises(LocalServerError, match=r"keeps crashing \(3 exits in 300 s\)"):
        await server.ensure_running()
    assert server.pid is None
    await server.stop()  # clears the failure: a fresh start is allowed again
    flag.unlink()
    assert await server.ensure_running()
    await server.stop()


async def test_stop_terminates_the_whole_process_group(setup: Setup) -> None:
    setup.env["FAKE_LLAMA_CHILD"] = "1"
    server = setup.server()
    await server.start()
    (start,) = setup.starts()
    assert alive(start["pid"])
    assert alive(start["child"])
    await server.stop()
    assert not alive(start["pid"])
    await eventually(lambda: not alive(start["child"]))
    await server.stop()  # idempotent


async def test_stop_kills_a_server_that_ignores_sigterm_after_the_grace_period(
    setup: Setup,
) -> None:
    setup.env["FAKE_LLAMA_IGNORE_TERM"] = "1"
    server = setup.server(stop_grace=0.4)
    await server.start()
    pid = server.pid
    assert pid is not None
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started >= 0.4
    assert not alive(pid)


async def test_a_crashed_server_leaves_no_children_behind(setup: Setup) -> None:
    setup.env["FAKE_LLAMA_CHILD"] = "1"
    async with setup.server() as server:
        first = server.pid
        assert first is not None
        child = setup.starts()[0]["child"]
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: server.pid not in (None, first))
        await eventually(lambda: not alive(child))


def _owner_script(setup: Setup, ending: str) -> str:
    return textwrap.dedent(
        f"""
        import asyncio, os, sys, time
        from pyclaw.llm.local import LocalServer

        async def main():
            server = LocalServer(model_path={str(setup.model)!r}, binary={str(setup.binary)!r},
                                 log_dir={str(setup.logs)!r}, env=dict(os.environ))
            await server.start()
            print(server.pid, flush=True)
            {ending}

        asyncio.run(main())
        """
    )


def test_the_server_is_stopped_when_the_owner_exits_without_stopping_it(setup: Setup) -> None:
    setup.env["FAKE_LLAMA_CHILD"] = "1"  # asyncio kills the leader at loop close, not its group
    script = _owner_script(setup, "# returns without stop(): the exit hook must clean up")
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=setup.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (start,) = setup.starts()
    assert start["pid"] == int(result.stdout.split()[0])
    deadline = time.monotonic() + 5
    while (alive(start["pid"]) or alive(start["child"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(start["pid"])
    assert not alive(start["child"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_server_dies_with_an_owner_that_is_killed(setup: Setup) -> None:
    script = _owner_script(setup, "await asyncio.sleep(600)")
    with subprocess.Popen(
        [sys.executable, "-c", script], env=setup.env, stdout=subprocess.PIPE, text=True
    ) as owner:
        try:
            assert owner.stdout is not None
            pid = int(owner.stdout.readline())
            assert alive(pid)
            owner.kill()
            owner.wait(timeout=10)
            deadline = time.monotonic() + 5
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(pid)
        finally:
            owner.kill()


# ----------------------------------------------------------------------- finding the files


def test_explicit_binary_must_be_an_executable_file(tmp_path: Path) -> None:
    with pytest.raises(
        LocalServerError, match=r"llama-server not found: binary .* is not an executable"
    ):
        find_llama_server(tmp_path / "nope")
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(LocalServerError, match="not an executable file"):
        find_llama_server(script)


def test_the_environment_variable_names_the_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = fake_binary(tmp_path)
    monkeypatch.setenv(BINARY_ENV, str(binary))
    assert find_llama_server() == binary
    assert find_llama_server(tmp_path / "llama-server") == binary  # explicit wins (same file)


def test_path_is_searched_last_and_a_missing_binary_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BINARY_ENV, raising=False)
    monkeypatch.setattr(_locate, "_package_binary", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalServerError) as caught:
        find_llama_server()
    assert caught.value.message == (
        "llama-server not found: install pyclaw-llm[local] or set PYCLAW_LLAMA_SERVER to its path"
    )
    assert not caught.value.retryable
    binary = fake_binary(tmp_path)
    assert find_llama_server() == binary


def test_a_missing_model_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LocalServerError, match=r"local model not found: .*missing\.gguf"):
        find_default_model(tmp_path / "missing.gguf")
    monkeypatch.setattr(_locate, "_bundled_model", lambda: None)
    with pytest.raises(LocalServerError, match=r"no local model: install pyclaw-llm\[local\]"):
        find_default_model()
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert find_default_model(model) == model


async def test_start_reports_a_missing_binary_without_spawning(tmp_path: Path) -> None:
    server = LocalServer(binary=tmp_path / "nope", model_path=tmp_path, log_dir=tmp_path)
    with pytest.raises(LocalServerError, match="llama-server not found"):
        await server.start()
    assert server.pid is None
