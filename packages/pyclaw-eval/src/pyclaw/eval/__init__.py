"""Replays recorded sessions against a model/tool configuration as regression checks.

It implements no service protocol: it is a client of the ``pyclaw.meta`` contracts ``SessionLog``
(the recordings), ``LLMProvider``, ``ToolHost`` and ``Brain`` (the replayed turns).

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #7.
"""

__all__: list[str] = []
