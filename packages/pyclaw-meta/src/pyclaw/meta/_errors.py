"""The error hierarchy. Every error PyClaw raises on purpose is a ``PyClawError``.

Each carries a one-line ``message`` fit for a terminal, an optional ``hint`` (what to do next)
and an ``exit_code`` the CLI uses. ``ErrorInfo`` is the serializable form recorded in events.
"""

from __future__ import annotations

from pydantic import Field, JsonValue

from pyclaw.meta._base import Model


class ErrorInfo(Model):
    """An error as data: recorded in session events and tool results."""

    type: str
    message: str
    retryable: bool = False
    details: dict[str, JsonValue] = Field(default_factory=dict)


class PyClawError(Exception):
    """Base of all deliberate PyClaw errors."""

    exit_code: int = 1
    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"

    def to_info(self, **details: JsonValue) -> ErrorInfo:
        return ErrorInfo(
            type=type(self).__name__,
            message=self.message,
            retryable=self.retryable,
            details=details,
        )


class UsageError(PyClawError):
    """The caller asked for something that cannot work as asked (bad flags, bad arguments)."""

    exit_code = 2


class ConfigError(PyClawError):
    """``pyclaw.toml`` is missing, malformed or invalid. Names the file, the key and what was expected."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        parts = [p for p in (file, key) if p]
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if expected:
            text = f"{text} (expected {expected})"
        super().__init__(text, hint=hint)
        self.file = file
        self.key = key
        self.expected = expected


class StorageError(PyClawError):
    """The database could not be opened, migrated or written."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer PyClaw than this one; refusing to touch it."""

    exit_code = 3


class MigrationError(StorageError):
    """A migration failed; the database was left at the last good version."""


class NotFoundError(PyClawError):
    """A named thing (session, run, artifact, secret…) does not exist."""


class SessionNotFoundError(NotFoundError):
    pass


class RunNotFoundError(NotFoundError):
    pass


class ArtifactNotFoundError(NotFoundError):
    pass


class IntegrityError(PyClawError):
    """Stored data does not match its hash: an artifact or the session hash chain was altered."""

    exit_code = 4


class ArtifactCorruptError(IntegrityError):
    pass


class ChainBrokenError(IntegrityError):
    pass


class SecretError(PyClawError):
    """A secret could not be read or stored (backend unavailable, name unknown)."""


class SecretNotFoundError(SecretError, NotFoundError):
    pass


class ProviderError(PyClawError):
    """An LLM provider call failed.

    ``retryable`` says whether trying again may help (429, 5xx, connection errors, timeouts);
    ``retry_after`` is the server's requested wait in seconds when it sent one; ``status`` the HTTP
    status when there was a response; ``provider`` names the provider. The message never contains
    credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        provider: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.provider = provider


class ToolError(PyClawError):
    """A tool could not run (bad arguments, timeout, refused path)."""


class PolicyDeniedError(PyClawError):
    """The policy engine denied a call."""


class GuardVetoError(PyClawError):
    """A guard hook vetoed an LLM or tool call."""


class BudgetExceededError(PyClawError):
    """A run hit its step, token, cost or time budget."""


class RunCancelledError(PyClawError):
    """A run was stopped (kill switch, shutdown)."""


class ContextOverflowError(PyClawError):
    """The prompt cannot be made to fit the model's token budget, even fully compacted."""
