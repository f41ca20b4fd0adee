"""Errors specific to memory stores (the shared ones live in ``pyclaw.meta``)."""

from __future__ import annotations

from pyclaw.meta import NotFoundError, UsageError


class MemoryNotFoundError(NotFoundError):
    """There is no such memory, or it has expired."""


class MemoryExistsError(UsageError):
    """A memory with this id already exists with a different text."""
