"""The built-in tools by their fixed names, and ``builtin_tools`` to build a set of them."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from pyclaw.os._errors import ToolLoadError
from pyclaw.os._exec import ExecTool
from pyclaw.os._file_tools import EditFileTool, ReadFileTool, WriteFileTool
from pyclaw.os._find_tools import GlobTool, GrepTool, ListDirTool
from pyclaw.os._memory_tools import MemoryAddTool, MemorySearchTool
from pyclaw.os._registry import tools_from
from pyclaw.os._tool import Tool, ToolEnv

logger = logging.getLogger("pyclaw.os")

CORE_TOOLS: dict[str, Callable[[], Tool[Any]]] = {
    "read_file": ReadFileTool,
    "write_file": WriteFileTool,
    "edit_file": EditFileTool,
    "list_dir": ListDirTool,
    "glob": GlobTool,
    "grep": GrepTool,
    "exec": ExecTool,
}
"""Tools that need nothing but the workspace."""

MEMORY_TOOLS: dict[str, Callable[[], Tool[Any]]] = {
    "memory_add": MemoryAddTool,
    "memory_search": MemorySearchTool,
}
"""Tools that need ``ToolEnv.memory``."""

# --- network tools: filled in by the network-tools modules' owner -----------------------------
# name -> "module:attribute", the attribute being a ``ToolFactory`` (``env -> Tool``) or a Tool
# class. Imported lazily, so a process that never uses them never imports their dependencies
# (httpx, playwright). Example: "http_fetch": "pyclaw.os._http_fetch:http_fetch_tool".
NETWORK_TOOLS: dict[str, str] = {
    "http_fetch": "pyclaw.os._http_fetch:http_fetch_tool",
    "weather": "pyclaw.os._weather:weather_tool",
    "browser": "pyclaw.os.browser:browser_tool",
}
# ------------------------------------------------------------------------------------------------

DELEGATION_TOOLS: dict[str, str] = {
    "delegate": "pyclaw.os._delegate:delegate_tool",
}
"""Tools that need ``ToolEnv.delegator`` (a remote network such as a Cortensor router); loaded
like the network tools."""


def builtin_tool_names() -> list[str]:
    """Every built-in name this installation knows, in a stable order."""
    return [*CORE_TOOLS, *NETWORK_TOOLS, *MEMORY_TOOLS, *DELEGATION_TOOLS]


def builtin_tools(env: ToolEnv, names: Iterable[str] | None = None) -> list[Tool[Any]]:
    """Build built-in tools for ``env``.

    ``names=None`` gives every available one: the file tools and ``exec``, the network tools
    that import, the memory tools when ``env.memory`` is set and ``delegate`` when
    ``env.delegator`` is. Naming a tool explicitly makes a missing piece an error
    (``ToolLoadError``): an unknown name, a memory tool without a memory store, ``delegate``
    without a delegator, a network tool whose module does not import.
    """
    if names is None:
        tools, unavailable = available_builtin_tools(env)
        for reason in unavailable.values():
            logger.warning("%s", reason)
        return tools
    return [_one(name, env) for name in dict.fromkeys(names)]


def available_builtin_tools(
    env: ToolEnv, names: Iterable[str] | None = None
) -> tuple[list[Tool[Any]], dict[str, str]]:
    """Like ``builtin_tools``, but a tool that cannot be built is returned as ``name -> reason``
    instead of raising (for listings and ``doctor``). With ``names=None`` the memory tools are
    simply left out when there is no memory store, and ``delegate`` when there is no delegator."""
    wanted = builtin_tool_names() if names is None else list(dict.fromkeys(names))
    tools: list[Tool[Any]] = []
    unavailable: dict[str, str] = {}
    for name in wanted:
        if names is None and name in MEMORY_TOOLS and env.memory is None:
            continue
        if names is None and name in DELEGATION_TOOLS and env.delegator is None:
            continue
        try:
            tools.append(_one(name, env))
        except ToolLoadError as exc:
            unavailable[name] = exc.message
    return tools, unavailable


def _one(name: str, env: ToolEnv) -> Tool[Any]:
    if name in CORE_TOOLS:
        return CORE_TOOLS[name]()
    if name in MEMORY_TOOLS:
        if env.memory is None:
            raise ToolLoadError(f"the {name} tool needs a memory store, and none is configured")
        return MEMORY_TOOLS[name]()
    if name in NETWORK_TOOLS:
        return _network_tool(name, env, NETWORK_TOOLS[name])
    if name in DELEGATION_TOOLS:
        return _network_tool(name, env, DELEGATION_TOOLS[name])
    known = ", ".join(builtin_tool_names())
    raise ToolLoadError(f"unknown built-in tool {name!r} (built-ins: {known})")


def _network_tool(name: str, env: ToolEnv, target: str) -> Tool[Any]:
    module_name, _, attribute = target.partition(":")
    try:
        made = tools_from(getattr(importlib.import_module(module_name), attribute), env)
    except Exception as exc:
        reason = exc.message if isinstance(exc, ToolLoadError) else f"{type(exc).__name__}: {exc}"
        raise ToolLoadError(f"the {name} tool is unavailable: {reason}") from exc
    if len(made) != 1:
        raise ToolLoadError(f"the {name} tool is unavailable: its factory made {len(made)} tools")
    return made[0]
