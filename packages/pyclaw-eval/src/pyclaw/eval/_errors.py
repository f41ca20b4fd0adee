"""The errors ``pyclaw-eval`` raises on purpose (one clear line each)."""

from __future__ import annotations

from pyclaw.meta import PyClawError, UsageError


class EvalError(PyClawError):
    """A replay or an eval suite could not run as asked."""


class SuiteError(UsageError):
    """An eval suite file is missing, malformed or invalid (names the file and the entry)."""


class BundleError(UsageError):
    """A session bundle is not one this version can read (format, version, content)."""
