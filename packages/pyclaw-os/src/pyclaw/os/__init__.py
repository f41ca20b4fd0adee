"""The tool host: registry, execution with timeouts, standardized results, built-in tools.

It will implement the ``pyclaw.meta.ToolHost`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #4.
"""

__all__: list[str] = []
