"""Long-term memory for agents: facts, notes and procedures with provenance and TTL.

It will implement the ``pyclaw.meta.MemoryStore`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #4.
"""

__all__: list[str] = []
