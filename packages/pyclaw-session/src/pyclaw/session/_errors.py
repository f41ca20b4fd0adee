"""Errors specific to session logs (the shared ones live in ``pyclaw.meta``)."""

from __future__ import annotations

from pyclaw.meta import PyClawError


class SessionExistsError(PyClawError):
    """A session with this id or external key already exists."""


class RunExistsError(PyClawError):
    """A run with this id already exists."""


class RunStateError(PyClawError):
    """The run is not in a state that allows this (e.g. finishing a run that already finished)."""
