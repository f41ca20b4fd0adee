"""The router's wire: its URLs, JSON decoding, the hosted gateway's envelope and its errors.

Cortensor publishes few response schemas, so everything here is tolerant: a body may or may not
be wrapped in the gateway envelope ``{"request_id", "status": "ok"|"failed", "data", "error"}``,
and errors may carry ``message``, ``error.message`` or ``detail``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pyclaw.llm._chat_format import as_object
from pyclaw.llm._http_errors import (
    error_detail,
    is_retryable_status,
    malformed_error,
    one_line,
    parse_retry_after,
    redact,
)
from pyclaw.meta import ConfigError, ProviderError

ApiVersion = Literal["v1", "v2", "v3"]
API_VERSIONS: tuple[ApiVersion, ...] = ("v1", "v2", "v3")

_API_SUFFIX = re.compile(r"/api/v[123]/?$")
_RETRYABLE_CODE = re.compile(r"(?i)timeout|timed.out|rate|limit|unavailable|overload|busy|retry")
_HINTS = {
    401: "check the router's api_key (sent as a Bearer token)",
    403: "the api_key is not allowed on this router or session",
    404: "check base_url (the router root, e.g. http://host:5010), api_version and session_id",
}


@dataclass(frozen=True)
class Routes:
    """The router's URLs. ``completions_version`` serves ``/completions``; ``tasks_version``
    serves ``/delegate`` and ``/validate`` (v3 by default: it has the ``consensus`` block)."""

    base_url: str
    completions_version: ApiVersion = "v1"
    tasks_version: ApiVersion = "v3"
    session_id: str | None = None

    @classmethod
    def make(
        cls, base_url: str, *, api_version: str | None = None, session_id: str | None = None
    ) -> Routes:
        """Routes for a router root; ``api_version`` (when set) is used for every route."""
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{base_url!r} is not an http(s) URL",
                key="base_url",
                expected="http(s)://host:5010",
            )
        if api_version is not None and api_version not in API_VERSIONS:
            raise ConfigError(
                f"unknown api_version {api_version!r}", key="api_version", expected="v1, v2 or v3"
            )
        root = _API_SUFFIX.sub("", base_url.rstrip("/")).rstrip("/")
        version: ApiVersion | None = next((v for v in API_VERSIONS if v == api_version), None)
        return cls(root, version or "v1", version or "v3", session_id or None)

    @property
    def completions(self) -> str:
        url = f"{self.base_url}/api/{self.completions_version}/completions"
        return f"{url}/{quote(self.session_id, safe='')}" if self.session_id else url

    @property
    def delegate(self) -> str:
        return f"{self.base_url}/api/{self.tasks_version}/delegate"

    @property
    def validate(self) -> str:
        return f"{self.base_url}/api/{self.tasks_version}/validate"

    def meta(self, name: str) -> str:
        """A GET route such as ``info`` or ``status`` (always v1)."""
        return f"{self.base_url}/api/v1/{name}"


def decode(provider: str, content: bytes | str, *, status: int | None) -> Any:
    """JSON from a body (``status`` set) or a stream event (``status`` ``None``)."""
    try:
        return json.loads(content)
    except ValueError as exc:
        what = "the response body" if status is not None else "a stream event"
        raise malformed_error(
            provider, f"{what} is not valid JSON ({one_line(str(exc), 120)})", status=status
        ) from None


def is_envelope(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` is the hosted gateway's envelope."""
    return data.get("status") in ("ok", "failed") and ("data" in data or "error" in data)


def unwrap(provider: str, data: object, *, status: int | None = None) -> Any:
    """``data`` without its gateway envelope (when it has one); a ``failed`` envelope raises its
    error, and an envelope that says ``ok`` without a ``data`` object is malformed."""
    body = as_object(data)
    if body is None or not is_envelope(body):
        return data
    if body.get("status") == "failed":
        raise envelope_error(provider, body, status=status)
    inner = body.get("data")
    if inner is None or isinstance(inner, str | int | float | bool):
        raise malformed_error(
            provider,
            "the gateway envelope says 'ok' but carries no data object",
            status=status,
            retryable=False,
        )
    return inner


def envelope_error(
    provider: str, body: Mapping[str, Any], *, status: int | None = None
) -> ProviderError:
    """The ``ProviderError`` of a ``failed`` envelope: ``error.code``, ``error.message``."""
    error = as_object(body.get("error")) or {}
    code = error.get("code")
    message = one_line(str(error.get("message") or error.get("detail") or "no error message"))
    code_text = "" if code in (None, "") else str(code)
    retryable = bool(_RETRYABLE_CODE.search(code_text) or _RETRYABLE_CODE.search(message))
    if status is not None and is_retryable_status(status):
        retryable = True
    label = f"request failed ({code_text})" if code_text else "request failed"
    return ProviderError(
        f"{provider}: {label}: {message}", retryable=retryable, status=status, provider=provider
    )


def router_status_error(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The ``ProviderError`` for an HTTP error from the router or the gateway: retryable for
    408/409/429/5xx (522/524 included), with the server's own message, redacted, on one line."""
    kind, message = error_detail(body)
    detail = redact(one_line(message), secrets)
    label = f"HTTP {status}" + (f" {kind}" if kind else "")
    return ProviderError(
        f"{provider}: {label}: {detail}" if detail else f"{provider}: {label}",
        retryable=is_retryable_status(status),
        retry_after=parse_retry_after(headers),
        status=status,
        provider=provider,
        hint=_HINTS.get(status),
    )


def text_of(value: object) -> str:
    """``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def first_text(data: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty string among ``data[key]`` for ``keys``."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""
