"""Errors a user of the policy engine and the approval broker can hit."""

from __future__ import annotations

from pyclaw.meta import NotFoundError, PyClawError, UsageError


class GrantNotFoundError(NotFoundError):
    """No grant has the given id."""


class ApprovalNotFoundError(NotFoundError):
    """No approval request has the given id."""


class ApprovalError(PyClawError):
    """An approval decision cannot be applied (wrong request, wrong call, already settled)."""


class ApprovalMismatchError(ApprovalError):
    """A decision does not belong to the request (other request id or other call hash)."""


class ApprovalStateError(ApprovalError):
    """The request was already resolved, already applied, or expired before the answer came."""


class InvalidGrantError(UsageError):
    """A grant is malformed (a session grant without a session, a bad argument pattern…)."""
