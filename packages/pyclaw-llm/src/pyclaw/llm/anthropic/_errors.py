"""The Anthropic SDK's exceptions (and transport failures met mid-stream) as ``ProviderError``."""

from __future__ import annotations

from collections.abc import Iterable

import anthropic

from pyclaw.llm._http_errors import (
    connection_error,
    error_detail,
    malformed_error,
    one_line,
    redact,
    status_error,
    timeout_error,
)
from pyclaw.meta import ProviderError

RETRYABLE_ERROR_TYPES = frozenset(
    {"overloaded_error", "rate_limit_error", "api_error", "timeout_error"}
)
"""Anthropic error types worth retrying, for an ``error`` event met inside a 200 stream."""


def provider_error(
    exc: anthropic.AnthropicError,
    *,
    provider: str,
    timeout: float,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The ``ProviderError`` for an SDK exception: retryable for timeouts, connection failures,
    429/529/5xx (and overloaded/rate-limit errors sent inside a stream), with the server's
    ``Retry-After``; never with the API key in its message."""
    if isinstance(exc, anthropic.APITimeoutError):
        return timeout_error(provider, timeout)
    if isinstance(exc, anthropic.APIConnectionError):
        return connection_error(provider, exc.__cause__ or exc, secrets=secrets)
    if isinstance(exc, anthropic.APIStatusError):
        if exc.status_code < 400:  # an ``event: error`` inside a successful stream
            return _stream_error_event(exc, provider=provider, secrets=secrets)
        return status_error(
            provider, exc.status_code, exc.response.headers, exc.body, secrets=secrets
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return malformed_error(
            provider, "the response did not match the Messages API schema", status=exc.status_code
        )
    return _other_error(exc, provider=provider, secrets=secrets)


def _other_error(
    exc: anthropic.AnthropicError, *, provider: str, secrets: Iterable[str | None]
) -> ProviderError:
    """Credentials that cannot be loaded, or any other SDK failure: not retryable."""
    reason = redact(one_line(str(exc) or type(exc).__name__), secrets)
    if isinstance(exc, anthropic.CredentialsError):
        return ProviderError(
            f"{provider}: Anthropic credentials could not be loaded: {reason}",
            provider=provider,
            hint="configure the provider's api_key or set ANTHROPIC_API_KEY",
        )
    return ProviderError(f"{provider}: {type(exc).__name__}: {reason}", provider=provider)


def missing_key_error(exc: TypeError, *, provider: str) -> ProviderError | None:
    """The ``ProviderError`` for the SDK's ``TypeError`` when it found no credentials at all
    (``None`` for any other ``TypeError``, which is a bug to let through)."""
    if "Could not resolve authentication method" not in str(exc):
        return None
    return ProviderError(
        f"{provider}: no Anthropic API key",
        provider=provider,
        hint="configure the provider's api_key or set ANTHROPIC_API_KEY",
    )


def _stream_error_event(
    exc: anthropic.APIStatusError, *, provider: str, secrets: Iterable[str | None]
) -> ProviderError:
    kind, message = error_detail(exc.body)
    detail = redact(one_line(message), secrets)
    return ProviderError(
        f"{provider}: error event in the stream: {kind or 'error'}: {detail}",
        retryable=kind in RETRYABLE_ERROR_TYPES,
        provider=provider,
    )


def transport_error(
    exc: Exception, *, provider: str, timeout: float, secrets: Iterable[str | None] = ()
) -> ProviderError:
    """The ``ProviderError`` for a failure while reading a stream's body, which the SDK lets through
    unwrapped: a read timeout, a dropped connection, or an event that is not JSON. All retryable."""
    if isinstance(exc, anthropic.AnthropicError):
        return provider_error(exc, provider=provider, timeout=timeout, secrets=secrets)
    if isinstance(exc, ValueError):  # json.JSONDecodeError from an event's data
        return malformed_error(
            provider, f"a stream event was not valid JSON ({one_line(str(exc))})"
        )
    if any(cls.__name__.endswith("TimeoutException") for cls in type(exc).__mro__):
        return timeout_error(provider, timeout)
    return connection_error(provider, exc, secrets=secrets)
