"""Fixtures for pyclaw-os's own tests: a workspace with an outside world next to it, a host
with the built-in tools, an in-memory artifact store and memory store (from ``fakes.py``)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from pyclaw.meta import ToolCall, ToolContext, ToolResult
from pyclaw.os import LocalToolHost, ToolEnv, builtin_tools


def _load_fakes() -> Any:
    name = "pyclaw_os_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()
World = fakes.World
SECRET = fakes.SECRET
MemoryArtifacts = fakes.MemoryArtifacts
FakeMemory = fakes.FakeMemory


@pytest.fixture
def world(tmp_path: Path) -> Any:
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    return World(workspace=workspace, outside=outside)


@pytest.fixture
def artifacts() -> Any:
    return MemoryArtifacts()


@pytest.fixture
def memory() -> Any:
    return FakeMemory()


@pytest.fixture
def env(world: Any, artifacts: Any, memory: Any) -> ToolEnv:
    return ToolEnv(workspace=world.workspace, artifacts=artifacts, memory=memory)


@pytest.fixture
def host(env: ToolEnv) -> LocalToolHost:
    return LocalToolHost(env, builtin_tools(env))


@pytest.fixture
def context() -> ToolContext:
    return ToolContext(session_id="ses_test", agent="main")


Call = Callable[..., Awaitable[ToolResult]]


@pytest.fixture
def call(host: LocalToolHost, context: ToolContext) -> Call:
    """``await call("read_file", path="a.txt")`` runs one tool call through the host."""

    async def run(name: str, **arguments: Any) -> ToolResult:
        args: dict[str, JsonValue] = dict(arguments)
        return await host.execute(ToolCall(name=name, arguments=args), context)

    return run
