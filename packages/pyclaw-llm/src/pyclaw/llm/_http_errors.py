"""HTTP failures as ``ProviderError``: which statuses are worth retrying, ``Retry-After``, redaction.

Shared by every provider (httpx or official SDK) and free of SDK imports: callers pass the status,
the response headers (any ``Mapping[str, str]``, case-insensitive or not) and the body (bytes, text
or already-decoded JSON) and get one ``ProviderError`` with a one-line message that never contains
the API key.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime

from pyclaw.meta import ProviderError

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 worth retrying: request timeout, conflict (lock contention), rate limited."""

MAX_DETAIL = 300
"""Characters of the server's error text kept in a message."""

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_TOKEN_PATTERNS = (
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),
)
_HINTS = {
    401: "check the API key configured for this provider",
    403: "the API key is not allowed to use this model or endpoint",
    404: "check base_url and the model name",
}


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status may succeed on a later try: 408, 409, 429 and every 5xx."""
    return status in RETRYABLE_STATUSES or status >= 500


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (lower case), whatever the mapping's key case."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``Retry-After`` as seconds or
    as an HTTP date (relative to ``now``, a Unix time). ``None`` when absent or unreadable."""
    millis = header(headers, "retry-after-ms")
    if millis is not None and (match := _NUMBER.match(millis)):
        return float(match.group(1)) / 1000
    value = header(headers, "retry-after")
    if value is None:
        return None
    if match := _NUMBER.match(value):
        return float(match.group(1))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delay) if math.isfinite(delay) else None


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret, bearer token and ``sk-…`` key replaced by ``[redacted]``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _TOKEN_PATTERNS[0].sub(r"\1 [redacted]", text)
    return _TOKEN_PATTERNS[1].sub("[redacted]", text)


def one_line(text: str, limit: int = MAX_DETAIL) -> str:
    """Whitespace collapsed to single spaces, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_detail(body: object) -> tuple[str | None, str]:
    """``(error type or code, message)`` from an error body in any of the usual shapes.

    Understands OpenAI's ``{"error": {"message", "type", "code"}}``, Anthropic's ``{"type":
    "error", "error": {"type", "message"}}``, the inner object alone (as SDKs keep it),
    ``{"error": "text"}`` (Ollama), ``{"detail": ...}`` (FastAPI servers) and plain text.
    """
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None, body.strip()
    if not isinstance(body, Mapping):
        return None, "" if body is None else str(body)
    data: Mapping[object, object] = body  # pyright: ignore[reportUnknownVariableType] - decoded JSON
    inner = data.get("error", data)
    if isinstance(inner, str):
        return None, inner
    if isinstance(inner, Mapping):
        err: Mapping[object, object] = inner  # pyright: ignore[reportUnknownVariableType] - decoded JSON
        kind = err.get("type") or err.get("code")
        message = err.get("message") or err.get("detail") or ""
        return (str(kind) if kind not in (None, "") else None), str(message)
    return None, json.dumps(inner, default=str)


def status_error(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: object,
    *,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The ``ProviderError`` for an HTTP error response: retryable for 408/409/429/5xx, with the
    server's ``Retry-After`` and a one-line, redacted excerpt of its error message."""
    kind, message = error_detail(body)
    detail = redact(one_line(message), secrets)
    label = f"HTTP {status}" + (f" {kind}" if kind else "")
    text = f"{provider}: {label}: {detail}" if detail else f"{provider}: {label}"
    return ProviderError(
        text,
        retryable=is_retryable_status(status),
        retry_after=parse_retry_after(headers),
        status=status,
        provider=provider,
        hint=_HINTS.get(status),
    )


def connection_error(
    provider: str, exc: BaseException, *, secrets: Iterable[str | None] = ()
) -> ProviderError:
    """A retryable ``ProviderError`` for a failed connection (refused, reset, dropped mid-body)."""
    reason = redact(one_line(str(exc) or type(exc).__name__), secrets)
    return ProviderError(
        f"{provider}: connection failed ({type(exc).__name__}: {reason})",
        retryable=True,
        provider=provider,
    )


def timeout_error(provider: str, timeout: float | None) -> ProviderError:
    """A retryable ``ProviderError`` for a call that got no answer in time."""
    after = f" after {timeout:g} s" if timeout is not None else ""
    return ProviderError(
        f"{provider}: the request timed out{after}",
        retryable=True,
        provider=provider,
        hint="raise the provider's timeout if the model is just slow",
    )


def malformed_error(
    provider: str, what: str, *, status: int | None = None, retryable: bool = True
) -> ProviderError:
    """A ``ProviderError`` for a response that is not what the protocol promises (bad JSON, a
    stream cut short). Retryable by default: these are usually truncated or garbled transfers."""
    return ProviderError(
        f"{provider}: {what}",
        retryable=retryable,
        status=status,
        provider=provider,
        hint="check that base_url points at the provider's API" if not retryable else None,
    )
