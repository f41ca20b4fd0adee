"""An agent's tools: built-ins by name, third-party ones from ``pyclaw.tools`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from pyclaw.os import ToolEnv
from pyclaw.runtime._agents import agent_tools

PLUGIN = '''
from pydantic import BaseModel
from pyclaw.os import ToolRun, tool

class Args(BaseModel):
    text: str

@tool(name="shout")
async def shout(args: Args, run: ToolRun) -> str:
    """Upper-case a text."""
    return args.text.upper()
'''


def test_built_in_and_plug_in_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyclaw_test_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(name="shout", value="pyclaw_test_plugin:shout", group="pyclaw.tools")
    monkeypatch.setattr(
        "pyclaw.os._registry.entry_points", lambda group: [point] if group == point.group else []
    )
    env = ToolEnv(workspace=tmp_path)
    tools, unavailable = agent_tools(env, ["read_file", "plugin:shout", "plugin:nope"])
    assert [t.name for t in tools] == ["read_file", "shout"]
    assert list(unavailable) == ["plugin:nope"]
    assert "not installed" in unavailable["plugin:nope"]
