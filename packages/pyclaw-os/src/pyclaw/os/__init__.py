"""The tool host: registry, execution with timeouts, standardized results, built-in tools.

Implements the ``pyclaw.meta.ToolHost`` protocol.
"""

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

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolEnv",
    "ToolFactory",
    "ToolFunction",
    "ToolOutput",
    "ToolRun",
    "tool",
]
