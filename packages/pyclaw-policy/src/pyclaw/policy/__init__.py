"""The policy engine: approvals and time-bounded grants for risky tools.

It will implement the ``pyclaw.meta.PolicyEngine`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #5.
"""

__all__: list[str] = []
