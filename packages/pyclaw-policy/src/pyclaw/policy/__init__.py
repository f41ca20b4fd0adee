"""The policy engine: rules, grants and approvals for every tool call.

``SQLitePolicyEngine`` implements ``pyclaw.meta.PolicyEngine``: deny rules, then a fresh approval
after untrusted content, then grants (allow once, for a window, for the session, until revoked),
then ask rules, allow rules and a default by the tool's risk. ``ApprovalBroker`` implements
``pyclaw.meta.Approver``: it stores a request, shows it through a channel and waits for an answer
given in-process or from another process (the CLI), denying it when it expires. Both keep their
state in a ``pyclaw.storage.Database`` (component ``policy``).
"""

from pyclaw.policy._broker import TIMEOUT, ApprovalBroker, Present
from pyclaw.policy._config import DEFAULT_BY_RISK, PolicyConfig, PolicyRule
from pyclaw.policy._engine import FRESH_RULE, SQLitePolicyEngine
from pyclaw.policy._errors import (
    ApprovalError,
    ApprovalMismatchError,
    ApprovalNotFoundError,
    ApprovalStateError,
    GrantNotFoundError,
    InvalidGrantError,
)
from pyclaw.policy._match import encode_argument_pattern
from pyclaw.policy._schema import POLICY_MIGRATIONS

__all__ = [
    "DEFAULT_BY_RISK",
    "FRESH_RULE",
    "POLICY_MIGRATIONS",
    "TIMEOUT",
    "ApprovalBroker",
    "ApprovalError",
    "ApprovalMismatchError",
    "ApprovalNotFoundError",
    "ApprovalStateError",
    "GrantNotFoundError",
    "InvalidGrantError",
    "PolicyConfig",
    "PolicyRule",
    "Present",
    "SQLitePolicyEngine",
    "encode_argument_pattern",
]
