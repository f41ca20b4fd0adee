"""The tool host: registry, execution with timeouts, standardized results, built-in tools.

Implements the ``pyclaw.meta.ToolHost`` protocol with ``LocalToolHost``. Tools are written with
``Tool`` / ``@tool``; third-party tools register through the ``pyclaw.tools`` entry-point group.
"""

from pyclaw.os._builtins import (
    CORE_TOOLS,
    DELEGATION_TOOLS,
    MEMORY_TOOLS,
    NETWORK_TOOLS,
    available_builtin_tools,
    builtin_tool_names,
    builtin_tools,
)
from pyclaw.os._delegate import DelegateArgs, DelegateSettings, DelegateTool
from pyclaw.os._errors import PathEscapeError, ToolLoadError, ToolTimeoutError
from pyclaw.os._exec import ExecTool, scrub_env
from pyclaw.os._file_tools import EditFileTool, ReadFileTool, WriteFileTool
from pyclaw.os._find_tools import GlobTool, GrepTool, ListDirTool
from pyclaw.os._host import LocalToolHost
from pyclaw.os._http_fetch import HttpFetchArgs, HttpFetchTool
from pyclaw.os._memory_tools import MemoryAddTool, MemorySearchTool
from pyclaw.os._netaddr import classify_address
from pyclaw.os._netguard import (
    CheckedTarget,
    HostAllowList,
    NetGuard,
    NetPolicy,
    NetworkBlockedError,
    Resolver,
    StaticResolver,
    SystemResolver,
)
from pyclaw.os._netsettings import HttpFetchSettings, WeatherSettings
from pyclaw.os._paths import Workspace
from pyclaw.os._registry import ENTRY_POINT_GROUP, PluginLoad, ToolRegistry
from pyclaw.os._tool import (
    FunctionTool,
    Tool,
    ToolEnv,
    ToolFactory,
    ToolFunction,
    ToolOutput,
    ToolRun,
    tool,
)
from pyclaw.os._weather import WeatherArgs, WeatherRateLimitError, WeatherTool

__all__ = [
    "CORE_TOOLS",
    "DELEGATION_TOOLS",
    "ENTRY_POINT_GROUP",
    "MEMORY_TOOLS",
    "NETWORK_TOOLS",
    "CheckedTarget",
    "DelegateArgs",
    "DelegateSettings",
    "DelegateTool",
    "EditFileTool",
    "ExecTool",
    "FunctionTool",
    "GlobTool",
    "GrepTool",
    "HostAllowList",
    "HttpFetchArgs",
    "HttpFetchSettings",
    "HttpFetchTool",
    "ListDirTool",
    "LocalToolHost",
    "MemoryAddTool",
    "MemorySearchTool",
    "NetGuard",
    "NetPolicy",
    "NetworkBlockedError",
    "PathEscapeError",
    "PluginLoad",
    "ReadFileTool",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "Tool",
    "ToolEnv",
    "ToolFactory",
    "ToolFunction",
    "ToolLoadError",
    "ToolOutput",
    "ToolRegistry",
    "ToolRun",
    "ToolTimeoutError",
    "WeatherArgs",
    "WeatherRateLimitError",
    "WeatherSettings",
    "WeatherTool",
    "Workspace",
    "WriteFileTool",
    "available_builtin_tools",
    "builtin_tool_names",
    "builtin_tools",
    "classify_address",
    "scrub_env",
    "tool",
]
