"""``CortensorClient``: one router (or gateway) connection: auth, timeouts, progress on long
waits, errors as ``ProviderError``, and the ``delegate``, ``validate``, ``info`` and ``status``
calls. ``CortensorProvider`` uses it for ``/completions``."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from pyclaw.llm._chat_format import as_object
from pyclaw.llm._http_errors import connection_error, malformed_error, timeout_error
from pyclaw.llm.cortensor._delegate import delegate_body, parse_delegation
from pyclaw.llm.cortensor._progress import WaitCallback, reporting_wait
from pyclaw.llm.cortensor._validate import parse_validation, validate_body
from pyclaw.llm.cortensor._wire import Routes, decode, router_status_error, unwrap
from pyclaw.meta import AggregationPolicy, ConfigError, DelegateResult, ValidateResult

DEFAULT_TIMEOUT = 300.0
"""Seconds one router call may take: decentralized inference is slow (proxies allow ~300 s)."""
CONNECT_TIMEOUT = 10.0
"""Seconds allowed to open a connection (capped by ``timeout``)."""
META_TIMEOUT = 5.0
"""Seconds for the small GET routes (``info``, ``status``) that ``doctor`` asks."""
PROGRESS_EVERY = 15.0
"""Seconds between two "still waiting" reports on a long call."""


class CortensorClient:
    """A connection to a Cortensor router's direct API (``http://host:5010``).

    ``api_key`` is sent as a bearer token and never appears in an error; ``session_id`` is the
    router session completions go to (and delegate/validate name); ``api_version`` (``v1``,
    ``v2``, ``v3``) picks the route family for every call, by default v1 for completions and v3
    (which has the ``consensus`` block) for delegate and validate. ``timeout`` bounds each call
    (and each wait for data while streaming); every ``progress_every`` seconds of a call a log line
    is written and ``on_wait(what, seconds)`` called. ``session_pool`` lists the sessions a
    delegated task may fan out to. Also a ``Delegator`` and a ``Validator`` (pyclaw.meta).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        name: str = "cortensor",
        session_id: str | None = None,
        api_version: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        session_pool: Sequence[str] = (),
        progress_every: float | None = PROGRESS_EVERY,
        on_wait: WaitCallback | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {timeout}", key="timeout")
        self.routes = Routes.make(base_url, api_version=api_version, session_id=session_id)
        self._name = name
        self.timeout = timeout
        self.session_pool = tuple(session_pool)
        self.progress_every = progress_every
        self.on_wait = on_wait
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.secrets = (api_key,)
        self.http_timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self.http_timeout)

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"CortensorClient({self.routes.base_url!r}, name={self._name!r})"

    # --- transport -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def errors(self, timeout: float | None = None) -> Generator[None]:
        """Turns httpx's timeouts and connection failures into retryable ``ProviderError``s."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise timeout_error(self._name, timeout or self.timeout) from exc
        except httpx.RequestError as exc:
            raise connection_error(self._name, exc, secrets=self.secrets) from exc

    def waiting(self, what: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Progress reports while ``what`` is awaited."""
        return reporting_wait(
            f"{self._name} {what}", every=self.progress_every, on_wait=self.on_wait
        )

    def status_error(self, response: httpx.Response) -> Exception:
        return router_status_error(
            self._name,
            response.status_code,
            response.headers,
            response.content,
            secrets=self.secrets,
        )

    async def post_json(self, url: str, body: dict[str, Any], *, what: str) -> tuple[Any, float]:
        """POST ``body``; the answer without its envelope, and the latency in milliseconds."""
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        started = time.perf_counter()
        with self.errors():
            async with self.waiting(what):
                response = await self._client.post(
                    url, content=content, headers=self.headers, timeout=self.http_timeout
                )
        if not response.is_success:
            raise self.status_error(response)
        data = decode(self._name, response.content, status=response.status_code)
        latency_ms = (time.perf_counter() - started) * 1000
        return unwrap(self._name, data, status=response.status_code), latency_ms

    @contextlib.asynccontextmanager
    async def stream(self, url: str, body: dict[str, Any]) -> AsyncGenerator[httpx.Response]:
        """POST ``body`` and hold the streamed response open (its status already checked)."""
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        async with self._client.stream(
            "POST", url, content=content, headers=self.headers, timeout=self.http_timeout
        ) as response:
            if not response.is_success:
                await response.aread()
                raise self.status_error(response)
            yield response

    async def get_json(self, name: str, *, timeout_s: float = META_TIMEOUT) -> Any:
        """GET a meta route (``info``, ``status``, ``miners``, ``sessions``) within ``timeout_s``."""
        with self.errors(timeout_s):
            response = await self._client.get(
                self.routes.meta(name), headers=self.headers, timeout=timeout_s
            )
        if not response.is_success:
            raise self.status_error(response)
        data = unwrap(self._name, decode(self._name, response.content, status=200), status=200)
        if as_object(data) is None:
            raise malformed_error(self._name, f"/api/v1/{name} did not answer a JSON object")
        return data

    # --- the router's surfaces -----------------------------------------------------------------

    async def info(self, *, timeout_s: float = META_TIMEOUT) -> dict[str, Any]:
        """``GET /api/v1/info``: name, version, sessions, node counts (as the router says)."""
        return dict(await self.get_json("info", timeout_s=timeout_s))

    async def status(self, *, timeout_s: float = META_TIMEOUT) -> dict[str, Any]:
        """``GET /api/v1/status``: active sessions, connected miners, load, uptime."""
        return dict(await self.get_json("status", timeout_s=timeout_s))

    async def delegate(
        self,
        objective: str,
        *,
        input: str = "",
        replicas: int = 1,
        policy: AggregationPolicy = "majority",
    ) -> DelegateResult:
        """Send a self-contained task to ``replicas`` router sessions and aggregate their answers
        under ``policy`` (``majority``, ``first`` or ``all``); see ``DelegateResult``."""
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        body = delegate_body(
            objective,
            input=input,
            replicas=replicas,
            policy=policy,
            timeout=self.timeout,
            session_id=self.routes.session_id,
            session_pool=self.session_pool,
        )
        data, latency_ms = await self.post_json(self.routes.delegate, body, what="delegate")
        return parse_delegation(
            data, provider=self._name, replicas=replicas, policy=policy, latency_ms=latency_ms
        )

    async def validate(
        self, claim: str, *, context: str = "", criteria: str = ""
    ) -> ValidateResult:
        """Ask the router's validators whether ``claim`` holds given ``context``; ``VALID``,
        ``INVALID``, ``RETRY`` or ``NEEDS_SPEC``, with a score in [0, 1] when they gave one."""
        body = validate_body(
            claim, context=context, criteria=criteria, session_id=self.routes.session_id
        )
        data, latency_ms = await self.post_json(self.routes.validate, body, what="validate")
        return parse_validation(data, provider=self._name, latency_ms=latency_ms)

    # --- life cycle ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in: then its owner closes it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
