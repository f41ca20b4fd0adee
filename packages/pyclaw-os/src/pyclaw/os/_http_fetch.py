"""The ``http_fetch`` tool: GET or HEAD a public http(s) URL, SSRF-guarded and DNS-pinned."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pyclaw.meta import RiskLevel, ToolError
from pyclaw.os._netbody import as_text, media_type
from pyclaw.os._netfetch import FetchResult, make_client, pinned_fetch
from pyclaw.os._netguard import NetGuard, Resolver
from pyclaw.os._netsettings import HttpFetchSettings, load_settings
from pyclaw.os._tool import Tool, ToolEnv, ToolOutput, ToolRun

_FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
    }
)


class HttpFetchArgs(BaseModel):
    """Arguments of ``http_fetch``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=8192, description="The http:// or https:// URL.")
    method: Literal["GET", "HEAD"] = Field(
        default="GET", description="GET, or HEAD for headers only."
    )
    headers: dict[str, str] | None = Field(
        default=None, description="Extra request headers (not Host or hop-by-hop headers)."
    )
    max_bytes: int = Field(
        default=1_000_000, ge=1, le=10_000_000, description="Read at most this many body bytes."
    )


def _request_headers(extra: dict[str, str] | None, user_agent: str) -> dict[str, str]:
    headers = {"User-Agent": user_agent, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
    for name, value in (extra or {}).items():
        if name.strip().lower() in _FORBIDDEN_HEADERS:
            raise ToolError(f"header {name!r} cannot be set on http_fetch")
        headers[name.strip()] = value
    return headers


def _artifact_name(url: str) -> str | None:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or None


async def _render(result: FetchResult, max_bytes: int, env: ToolEnv) -> ToolOutput:
    content_type = result.headers.get("content-type")
    lines = [f"HTTP {result.status} {result.reason} — {result.method} {result.target.url}"]
    if result.redirects:
        lines.append("Redirected from: " + " → ".join(result.redirects))
    lines.append(f"Content-Type: {content_type or '(none)'}")
    body = result.body
    if body is None:
        if "content-length" in result.headers:
            lines.append(f"Content-Length: {result.headers['content-length']}")
        return ToolOutput("\n".join(lines), untrusted=True)
    cut = f" (truncated at max_bytes={max_bytes})" if body.truncated else ""
    lines.append(f"Body: {len(body.data)} bytes{cut}")
    if body.note:
        lines.append(f"Note: {body.note}")
    text = None if body.note else as_text(body.data, content_type)
    if text is not None:
        return ToolOutput("\n".join(lines) + "\n\n" + text, untrusted=True)
    if not body.data:
        return ToolOutput("\n".join(lines), untrusted=True)
    kind = media_type(content_type) or "application/octet-stream"
    if env.artifacts is None:
        lines.append(f"Binary body ({kind}) not shown: no artifact store is configured.")
        return ToolOutput("\n".join(lines), untrusted=True)
    ref = await env.artifacts.put(
        body.data, media_type=kind, name=_artifact_name(result.target.url)
    )
    lines.append(f"Binary body ({kind}) stored as {ref.uri}")
    return ToolOutput("\n".join(lines), artifacts=(ref,), untrusted=True)


class HttpFetchTool(Tool[HttpFetchArgs]):
    """``http_fetch``: fetch a public web resource; private, loopback and metadata addresses are
    refused on every redirect hop unless ``[tools.http_fetch]`` allows them."""

    name = "http_fetch"
    description = (
        "Fetch an http(s) URL with GET or HEAD and return the status, content type and text body "
        "(binary bodies are stored as artifacts). Only public internet addresses are reachable."
    )
    args_model = HttpFetchArgs
    risk = RiskLevel.MODERATE
    untrusted = True
    timeout_s = 60.0

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._resolver = resolver
        self._transport = transport

    async def run(self, args: HttpFetchArgs, run: ToolRun) -> ToolOutput:
        settings = load_settings(HttpFetchSettings, self.name, run.env.settings_for(self.name))
        guard = NetGuard(settings.policy(self.name), self._resolver)
        headers = _request_headers(args.headers, settings.user_agent)
        client = make_client(settings.request_timeout_s, self._transport)
        try:
            async with asyncio.timeout(settings.request_timeout_s):
                result = await pinned_fetch(
                    client,
                    guard,
                    method=args.method,
                    url=args.url,
                    headers=headers,
                    max_bytes=args.max_bytes,
                    max_redirects=settings.max_redirects,
                )
        except TimeoutError:
            raise ToolError(
                f"http_fetch timed out after {settings.request_timeout_s:g} s"
            ) from None
        finally:
            if self._transport is None:  # an injected transport belongs to the caller
                await client.aclose()
        return await _render(result, args.max_bytes, run.env)


def http_fetch_tool(env: ToolEnv) -> HttpFetchTool:
    """A ``ToolFactory`` for the built-in ``http_fetch`` (settings are read per call from ``env``)."""
    del env
    return HttpFetchTool()
