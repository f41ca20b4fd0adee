"""Errors of the tool host: refused paths, tool timeouts, plug-ins that fail to load."""

from __future__ import annotations

from pyclaw.meta import PyClawError, ToolError


class PathEscapeError(ToolError):
    """A path given to a file tool leads outside the agent's workspace (``..``, absolute, symlink)."""


class ToolTimeoutError(ToolError):
    """A tool stopped its own work at its deadline; ``partial_output`` is what it had so far."""

    def __init__(self, message: str, *, partial_output: str = "") -> None:
        super().__init__(message)
        self.partial_output = partial_output


class ToolLoadError(PyClawError):
    """A tool could not be registered: a broken ``pyclaw.tools`` plug-in or a duplicate name."""
