"""A pinned HTTP fetch: every hop checked by the ``NetGuard``, connected to the checked IP only.

Redirects are followed by hand (never by httpx), each new location going through the guard again.
The request goes to ``CheckedTarget.pinned_url`` (the IP), with the original ``Host`` header and,
for https, the original name as TLS SNI and certificate host name (httpx's ``sni_hostname``
extension), so certificates are still verified against the name the user asked for.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from pyclaw.meta import ToolError
from pyclaw.os._netbody import Body, read_capped
from pyclaw.os._netguard import CheckedTarget, NetGuard

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class FetchResult:
    """The final response of a fetch, after any redirects."""

    target: CheckedTarget
    method: str
    status: int
    reason: str
    headers: httpx.Headers
    body: Body | None  # None for HEAD
    redirects: tuple[str, ...]  # every URL visited before the final one


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's certificate bundle, loaded once per process (it costs tens of milliseconds)."""
    return httpx.create_ssl_context()


def make_client(
    timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A client that never follows redirects, never uses proxies from the environment and never
    retries: the guard's decision must be the whole story of where bytes go."""
    return httpx.AsyncClient(
        transport=transport
        or httpx.AsyncHTTPTransport(
            verify=default_ssl_context(),
            trust_env=False,
            retries=0,
            limits=httpx.Limits(max_keepalive_connections=0),
        ),
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
    )


def _same_origin(a: CheckedTarget, b: CheckedTarget) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def _send(
    client: httpx.AsyncClient, method: str, target: CheckedTarget, headers: Mapping[str, str]
) -> httpx.Response:
    extensions: dict[str, object] = {}
    if target.scheme == "https" and target.host != str(target.ip):
        extensions["sni_hostname"] = target.host
    request = client.build_request(
        method,
        target.pinned_url,
        # "Connection: close": a pooled connection is keyed by IP, not by TLS name, so it must
        # never carry a request for another host name (its certificate was checked for this one).
        headers={**headers, "Host": target.host_header, "Connection": "close"},
        extensions=extensions,
    )
    try:
        return await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise ToolError(f"{target.url}: timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise ToolError(f"could not connect to {target.host} ({target.ip}): {exc}") from exc
    except httpx.HTTPError as exc:
        raise ToolError(f"request to {target.url} failed: {exc}") from exc


async def pinned_fetch(
    client: httpx.AsyncClient,
    guard: NetGuard,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    max_bytes: int,
    max_redirects: int = 5,
) -> FetchResult:
    """Fetch ``url`` following at most ``max_redirects`` redirects, each hop checked and pinned."""
    visited: list[str] = []
    current = await guard.check(url)
    hop_headers = dict(headers)
    while True:
        response = await _send(client, method, current, hop_headers)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                visited.append(current.url)
                if len(visited) > max_redirects:
                    raise ToolError(f"too many redirects (more than {max_redirects}) from {url}")
                following = await guard.check(urljoin(current.url, location.strip()))
                if not _same_origin(current, following):
                    hop_headers = {
                        k: v for k, v in hop_headers.items() if k.lower() not in _CREDENTIAL_HEADERS
                    }
                current = following
                continue
            try:
                body = None if method == "HEAD" else await read_capped(response, max_bytes)
            except httpx.TimeoutException as exc:
                raise ToolError(f"{current.url}: timed out reading the body") from exc
            except httpx.HTTPError as exc:
                raise ToolError(f"{current.url}: reading the body failed: {exc}") from exc
            return FetchResult(
                target=current,
                method=method,
                status=response.status_code,
                reason=response.reason_phrase,
                headers=response.headers,
                body=body,
                redirects=tuple(visited),
            )
        finally:
            await response.aclose()
