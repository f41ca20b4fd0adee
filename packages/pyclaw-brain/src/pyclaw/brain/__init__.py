"""The agent loop: plan → act → observe → reflect, under budgets.

It will implement the ``pyclaw.meta.Brain`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #4.
"""

__all__: list[str] = []
