"""ToolRegistry: duplicates refused; pyclaw.tools entry points (instances, classes, factories),
broken plug-ins reported by name, nothing loaded under pytest unless asked; builtin_tools."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pyclaw_os_fakes import World

from pyclaw.os import (
    CORE_TOOLS,
    NETWORK_TOOLS,
    ReadFileTool,
    ToolEnv,
    ToolLoadError,
    ToolRegistry,
    _builtins,
    available_builtin_tools,
    builtin_tool_names,
    builtin_tools,
)

GROUP = "pyclaw.tools.testing"

PLUGIN = '''
from pydantic import BaseModel
from pyclaw.os import Tool, ToolRun, tool

class EchoArgs(BaseModel):
    text: str

@tool(name="plug_echo")
async def echo(args: EchoArgs, run: ToolRun) -> str:
    """Echo."""
    return args.text

class ClassTool(Tool[EchoArgs]):
    name = "plug_class"
    description = "A tool given as a class."
    args_model = EchoArgs
    async def run(self, args, run):
        return "class"

def factory(env):
    @tool(name="plug_made_" + env.workspace.name)
    async def made(args: EchoArgs, run: ToolRun) -> str:
        """Made by a factory."""
        return "made"
    return [made]

def bad_factory(env):
    raise RuntimeError("no configuration for me")

def wrong_factory(env):
    return 42

NOT_A_TOOL = 42
'''

ENTRY_POINTS = f"""
[{GROUP}]
echo = fakeplug_tools:echo
klass = fakeplug_tools:ClassTool
factory = fakeplug_tools:factory
missing_module = fakeplug_missing:thing
bad_factory = fakeplug_tools:bad_factory
wrong_factory = fakeplug_tools:wrong_factory
not_a_tool = fakeplug_tools:NOT_A_TOOL
zz_duplicate = fakeplug_tools:echo
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    dist = site / "fakeplug-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    (site / "fakeplug_tools.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "fakeplug_tools", raising=False)


def test_duplicate_names_are_refused() -> None:
    registry = ToolRegistry([ReadFileTool()])
    with pytest.raises(ToolLoadError, match="a tool named 'read_file' is already registered"):
        registry.add(ReadFileTool())
    assert len(registry) == 1
    assert "read_file" in registry
    assert registry.names() == ["read_file"]


@pytest.mark.usefixtures("plugin")
def test_entry_points_load_tools_and_report_broken_plugins(world: World) -> None:
    env = ToolEnv(workspace=world.workspace)
    registry = ToolRegistry()
    report = registry.load_entry_points(env, group=GROUP, under_pytest=True)
    assert not report.skipped
    assert report.loaded == ("plug_echo", "plug_made_ws", "plug_class")  # by entry-point name
    assert registry.names() == ["plug_class", "plug_echo", "plug_made_ws"]
    messages = {error.message.split("'")[1]: error.message for error in report.errors}
    assert set(messages) == {
        "bad_factory",
        "missing_module",
        "not_a_tool",
        "wrong_factory",
        "zz_duplicate",
    }
    assert "RuntimeError: no configuration for me" in messages["bad_factory"]
    assert "ModuleNotFoundError" in messages["missing_module"]
    assert "fakeplug_missing:thing" in messages["missing_module"]
    assert "names an object of type int, not a Tool" in messages["not_a_tool"]
    assert "factory returned int" in messages["wrong_factory"]
    assert "'plug_echo' is already registered" in messages["zz_duplicate"]
    for message in messages.values():
        assert message.startswith("plug-in '")
        assert f"of '{GROUP}' failed to load" in message


@pytest.mark.usefixtures("plugin")
def test_entry_points_are_not_loaded_under_pytest_unless_asked(world: World) -> None:
    registry = ToolRegistry()
    report = registry.load_entry_points(ToolEnv(workspace=world.workspace), group=GROUP)
    assert report.skipped
    assert len(registry) == 0


def test_builtin_tools_by_name(env: ToolEnv) -> None:
    everything = [t.name for t in builtin_tools(env)]
    assert everything == [*CORE_TOOLS, *NETWORK_TOOLS, "memory_add", "memory_search"]
    assert list(NETWORK_TOOLS) == ["http_fetch", "weather", "browser"]
    picked = builtin_tools(env, ["grep", "exec", "grep"])
    assert [t.name for t in picked] == ["grep", "exec"]
    with pytest.raises(ToolLoadError, match="unknown built-in tool 'rm_rf'"):
        builtin_tools(env, ["rm_rf"])
    assert set(CORE_TOOLS) <= set(builtin_tool_names())


def test_network_tool_hook(env: ToolEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NETWORK_TOOLS, "net_read", "pyclaw.os._file_tools:ReadFileTool")
    monkeypatch.setitem(NETWORK_TOOLS, "net_broken", "pyclaw.os._no_such_module:make")
    assert _builtins.NETWORK_TOOLS is NETWORK_TOOLS
    (tool,) = builtin_tools(env, ["net_read"])
    assert isinstance(tool, ReadFileTool)
    with pytest.raises(ToolLoadError, match="the net_broken tool is unavailable"):
        builtin_tools(env, ["net_broken"])
    # Asked for everything, a broken network tool is left out rather than failing the rest.
    names = [t.name for t in builtin_tools(env)]
    assert "read_file" in names
    assert "net_broken" not in names


def test_available_builtin_tools_reports_instead_of_raising(world: World) -> None:
    env = ToolEnv(workspace=world.workspace)
    tools, unavailable = available_builtin_tools(env, ["read_file", "memory_add", "nope"])
    assert [t.name for t in tools] == ["read_file"]
    assert unavailable == {
        "memory_add": "the memory_add tool needs a memory store, and none is configured",
        "nope": unavailable["nope"],
    }
    assert unavailable["nope"].startswith("unknown built-in tool 'nope' (built-ins: read_file,")
    everything, missing = available_builtin_tools(env)
    assert [t.name for t in everything] == [*CORE_TOOLS, *NETWORK_TOOLS]
    assert missing == {}
