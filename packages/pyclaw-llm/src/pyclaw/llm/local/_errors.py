"""``LocalServerError``: the managed llama.cpp server could not be found, started or kept alive."""

from __future__ import annotations

from pyclaw.meta import ProviderError


class LocalServerError(ProviderError):
    """The local model server failed: a missing binary or model (not retryable), a server that
    never became healthy, or one that keeps crashing. The message is one line; it names the log
    file when there is one."""
