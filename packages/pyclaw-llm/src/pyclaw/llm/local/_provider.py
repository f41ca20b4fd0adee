"""``LocalProvider``: the offline default model, a managed llama.cpp server behind ``LLMProvider``.

It starts its ``LocalServer`` on first use and speaks Chat Completions to it through
``OpenAICompatibleProvider``; given a ``base_url`` instead (Ollama, an llama.cpp server you run
yourself), it manages no process and just talks to that URL.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from pyclaw.llm._compat import CONNECT_TIMEOUT, OpenAICompatibleProvider
from pyclaw.llm._pricing import WILDCARD, ModelPrice
from pyclaw.llm.local._locate import DEFAULT_MODEL_NAME
from pyclaw.llm.local._server import LocalServer
from pyclaw.meta import LLMRequest, LLMResponse, ProviderError, StreamEvent


class LocalProvider:
    """An ``LLMProvider`` answering from a local model.

    Without ``base_url`` it owns a ``LocalServer`` (``model_path``: a GGUF file, default the
    bundled SmolLM2-135M-Instruct; ``binary``: the ``llama-server`` to run; ``log_dir``; or a
    ``server`` built with other options), started lazily on the first call and stopped by
    ``aclose()``. With ``base_url`` (an OpenAI-compatible API root such as Ollama's
    ``http://127.0.0.1:11434/v1``) it starts nothing. ``model`` is the name used when a request
    names none (default: ``smollm2-135m-instruct``, or the GGUF file's stem). Calls are free
    unless ``prices`` says otherwise. ``timeout`` bounds each wait for data, as in
    ``OpenAICompatibleProvider``; the server's start has its own ``startup_timeout``.
    """

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        name: str = "local",
        timeout: float = 120.0,
        log_dir: str | os.PathLike[str] | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        server: LocalServer | None = None,
    ) -> None:
        managed = model_path is not None or binary is not None or server is not None
        if base_url is not None and managed:
            raise ProviderError(
                f"provider {name!r}: give either base_url or a local model/server, not both",
                provider=name,
            )
        self._name = name
        self.model = model or (Path(model_path).stem if model_path else DEFAULT_MODEL_NAME)
        self.timeout = timeout
        self.prices: Mapping[str, ModelPrice] = (
            prices if prices is not None else {WILDCARD: ModelPrice.free()}
        )
        self._api_key = api_key
        self._fixed_base = base_url
        self.server: LocalServer | None = server
        if base_url is None and server is None:
            self.server = LocalServer(
                model_path=model_path, binary=binary, log_dir=log_dir, alias=self.model
            )
        self._client: httpx.AsyncClient | None = None
        self._inner: OpenAICompatibleProvider | None = None
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        where = self._fixed_base or (self.server.api_base if self.server else None)
        return f"LocalProvider(model={self.model!r}, url={where!r}, name={self._name!r})"

    async def _provider(self) -> OpenAICompatibleProvider:
        """The Chat Completions client for the server's current URL (it changes on a restart)."""
        if self._closed:
            raise ProviderError(f"provider {self._name!r} is closed", provider=self._name)
        base = self._fixed_base
        if base is None:
            assert self.server is not None
            base = await self.server.ensure_running()
        inner = self._inner
        if inner is None or inner.base_url != base.rstrip("/"):
            if self._client is None:
                self._client = httpx.AsyncClient(
                    timeout=httpx.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout))
                )
            inner = OpenAICompatibleProvider(
                base,
                model=self.model,
                api_key=self._api_key,
                name=self._name,
                timeout=self.timeout,
                http_client=self._client,
                prices=self.prices,
            )
            self._inner = inner
        return inner

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Start the server if needed, then one Chat Completions round trip."""
        return await (await self._provider()).complete(request)

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        """Start the server if needed, then stream ``StreamEvent``s ending with ``ResponseDone``."""
        inner = await self._provider()
        async with aclosing(inner.stream(request)) as events:
            async for event in events:
                yield event

    async def aclose(self) -> None:
        """Stop the managed server (if any) and close the HTTP connections. Idempotent."""
        self._closed = True
        try:
            if self.server is not None:
                await self.server.stop()
        finally:
            client, self._client, self._inner = self._client, None, None
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
