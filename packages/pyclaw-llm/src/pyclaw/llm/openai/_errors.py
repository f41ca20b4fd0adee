"""The OpenAI SDK's exceptions as ``ProviderError`` (the API key never reaches a message)."""

from __future__ import annotations

from collections.abc import Iterable

import openai

from pyclaw.llm._http_errors import (
    connection_error,
    malformed_error,
    one_line,
    redact,
    status_error,
    timeout_error,
)
from pyclaw.meta import ProviderError


def provider_error(
    exc: Exception, *, provider: str, timeout: float, secrets: Iterable[str | None]
) -> ProviderError:
    """The ``ProviderError`` for an exception raised by an ``AsyncOpenAI`` call.

    HTTP errors keep their status, retryability and ``Retry-After``; timeouts and connection
    failures (also mid-stream) are retryable; an ``error`` object inside a stream is retryable
    unless it says the request was invalid; a broken JSON chunk is a retryable malformed answer.
    """
    secrets = tuple(secrets)
    if isinstance(exc, openai.APIStatusError):
        return status_error(
            provider, exc.status_code, exc.response.headers, exc.body, secrets=secrets
        )
    if isinstance(exc, openai.APITimeoutError):
        return timeout_error(provider, timeout)
    if isinstance(exc, openai.APIConnectionError):
        return connection_error(provider, exc.__cause__ or exc, secrets=secrets)
    if isinstance(exc, openai.APIError):
        kind = exc.type or exc.code
        label = f" ({kind})" if kind else ""
        return ProviderError(
            f"{provider}: error in the stream{label}: {redact(one_line(exc.message), secrets)}",
            retryable=kind is None or "invalid" not in kind,
            provider=provider,
        )
    if isinstance(exc, ValueError):  # a chunk that is not JSON
        what = f"a stream event is not valid JSON ({one_line(str(exc), 120)})"
        return malformed_error(provider, what)
    return ProviderError(
        f"{provider}: {type(exc).__name__}: {redact(one_line(str(exc)), secrets)}",
        provider=provider,
    )
