"""Tool host and registry with built-in tools."""
