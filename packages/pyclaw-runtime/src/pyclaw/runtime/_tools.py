"""Which tools exist here: built-ins (and whether each can run) plus ``pyclaw.tools`` plug-ins.

The tool environment is built like an agent's (``_agents``): with the Cortensor router of the
``delegate`` tool when one is configured (its key resolved; no connection is opened, the client
is closed again right away), so ``delegate`` shows as available exactly when an agent could use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from contextlib import contextmanager

from pydantic import BaseModel

from pyclaw.meta import Delegator, PyClawError
from pyclaw.os import (
    MemoryAddTool,
    MemorySearchTool,
    ToolEnv,
    ToolRegistry,
    available_builtin_tools,
    builtin_tool_names,
)
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._providers import open_delegator
from pyclaw.runtime._services import secret_store


class ToolRow(BaseModel):
    """One line of ``pyclaw tools list``."""

    name: str
    risk: str | None
    available: bool
    reason: str | None = None
    source: str
    description: str = ""


@contextmanager
def _delegator(
    home: PyClawHome, config: PyClawConfig, wanted: bool
) -> Generator[tuple[Delegator | None, str | None]]:
    """The ``delegate`` tool's router (closed on exit) or why there is none (as ``_agents``)."""
    if not wanted:
        yield None, None
        return
    why_not: str | None = None
    try:
        client = open_delegator(config, secret_store(home))
    except PyClawError as exc:
        client, why_not = None, str(exc)
    try:
        yield client, why_not
    finally:
        if client is not None:
            asyncio.run(client.aclose())


def tool_listing(home: PyClawHome, config: PyClawConfig, *, agent: str | None) -> list[ToolRow]:
    """Every tool (or ``agent``'s), built-ins first. A tool that cannot be built here (a missing
    extra, no memory store, no Cortensor router for ``delegate``) is listed as unavailable with
    the reason. Blocking (secrets, entry points): call it outside an event loop."""
    wanted = None if agent is None else list(config.agent_profile(agent).tools)
    builtin = builtin_tool_names()
    names = [n for n in (wanted or builtin) if n in builtin]
    with _delegator(home, config, "delegate" in names) as (delegator, why_not):
        env = ToolEnv(workspace=home.workspace_dir, settings=config.tools, delegator=delegator)
        tools, unavailable = available_builtin_tools(
            env, names=[n for n in names if not n.startswith("memory_")]
        )
    if why_not is not None:
        unavailable["delegate"] = why_not
    specs = {t.name: t.spec() for t in tools}
    rows: list[ToolRow] = []
    for name in names:
        if name.startswith("memory_"):
            rows.append(_memory_row(name))
        elif name in specs:
            spec = specs[name]
            rows.append(
                ToolRow(
                    name=name,
                    risk=spec.risk.value,
                    available=True,
                    source="built-in",
                    description=spec.description,
                )
            )
        else:
            rows.append(
                ToolRow(
                    name=name,
                    risk=None,
                    available=False,
                    reason=unavailable.get(name, "unknown"),
                    source="built-in",
                )
            )
    registry = ToolRegistry()
    loaded = registry.load_entry_points(env)
    for spec in registry.specs():
        if wanted is None or spec.name in wanted or f"plugin:{spec.name}" in wanted:
            rows.append(
                ToolRow(
                    name=spec.name,
                    risk=spec.risk.value,
                    available=True,
                    source="plug-in",
                    description=spec.description,
                )
            )
    rows.extend(
        ToolRow(
            name="(plug-in)", risk=None, available=False, reason=error.message, source="plug-in"
        )
        for error in loaded.errors
    )
    for name in wanted or ():
        if name not in builtin and not any(r.name == name.removeprefix("plugin:") for r in rows):
            rows.append(
                ToolRow(
                    name=name,
                    risk=None,
                    available=False,
                    reason="no such tool is installed",
                    source="config",
                )
            )
    return rows


def _memory_row(name: str) -> ToolRow:
    tool = MemoryAddTool() if name == "memory_add" else MemorySearchTool()
    spec = tool.spec()
    return ToolRow(
        name=name,
        risk=spec.risk.value,
        available=True,
        source="built-in",
        description=spec.description,
    )
