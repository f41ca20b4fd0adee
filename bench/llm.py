"""The LLM provider layer's own cost: ``import pyclaw.llm``, and per-call overhead on a local fake.

Import: a fresh ``python -c`` process times ``import pyclaw.llm`` alone (median of several runs)
and checks that no vendor SDK came with it. Target: <= 500 ms on these 2-core VMs, where
pydantic, asyncio and ``pyclaw.meta`` alone take about 0.3 s; SDKs load only when a provider needs
them (``openai`` ~1.5 s, ``anthropic`` ~3.5 s).

Overhead: the same request against an instant fake server on 127.0.0.1 (``InstantServer`` below:
an asyncio server in its own thread answering every request at once with a canned Chat Completions
or Messages body; ``pyclaw.llm.testing``'s fakes are built for faithfulness and fault injection,
not speed), a raw call and a provider call in random order, pair after pair, so drift and
connection reuse hit both alike; the row is
``p50(provider) - p50(raw)``, the time PyClaw adds on top of what a hand-written call costs
(request mapping, response parsing, usage and cost, the ``RetryingProvider`` wrapper). Pairs:
``OpenAICompatibleProvider`` vs a raw ``httpx`` POST of the same body; ``OpenAIProvider`` vs the
raw ``openai`` SDK call; ``AnthropicProvider`` vs the raw ``anthropic`` SDK call. Target: < 2 ms.
A pair whose provider or SDK is missing is reported as a skipped row saying why.

``run(quick)`` returns rows ``{"name", "value", "unit", "target", "ok"}`` for the bench harness;
``python -m bench.llm [--quick]`` prints them.
"""
# ruff: noqa: PLC0415 - each provider (and its SDK) is imported by its own row, which is skipped
# with a note when it is missing

from __future__ import annotations

import asyncio
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pyclaw.llm import RetryingProvider, RetryPolicy, ScriptedProvider
from pyclaw.meta import LLMProvider, LLMRequest, Message

Row = dict[str, object]
Call = Callable[[], Awaitable[object]]

IMPORT_TARGET_MS = 500.0
OVERHEAD_TARGET_MS = 2.0
MODEL = "gpt-4o-mini"
PROMPT = "Say hello to the benchmark."
SDKS = ("openai", "anthropic")

_IMPORT_PROBE = """
import sys, time, json
started = time.perf_counter()
import pyclaw.llm
elapsed = time.perf_counter() - started
print(json.dumps([elapsed, [m for m in SDKS if m in sys.modules]]))
""".replace("SDKS", repr(SDKS))


_CHAT_BODY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello, benchmark!"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
}
_MESSAGES_BODY = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Hello, benchmark!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 4},
}


def _http_response(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode() + data


class InstantServer:
    """HTTP/1.1 with keep-alive on 127.0.0.1, answering ``/chat/completions`` and ``/messages``
    at once (one write per response, so no Nagle/delayed-ACK stall), in its own thread."""

    def __init__(self) -> None:
        self.port = 0
        self.requests = 0
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="instant-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> InstantServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the instant server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for writer in self._writers:
                writer.close()  # the client handlers see EOF and end by themselves
            pending = asyncio.all_tasks(self._loop)
            self._loop.run_until_complete(asyncio.wait(pending, timeout=5) if pending else _noop())
            self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chat, messages = _http_response(_CHAT_BODY), _http_response(_MESSAGES_BODY)
        self._writers.add(writer)
        try:
            while request_line := await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                writer.write(messages if b"/messages" in request_line else chat)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _noop() -> None:
    return None


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def _row(
    name: str, value: float, unit: str, target: str | None, ok: bool | None, detail: str
) -> Row:
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "target": target,
        "ok": ok,
        "detail": f"{detail}; {_load()}",
    }


def _skipped(name: str, why: str) -> Row:
    return _row(name, 0.0, "ms", None, None, f"skipped: {why}")


def import_rows(runs: int) -> list[Row]:
    """Median wall time of ``import pyclaw.llm`` in fresh processes; SDKs it pulled in."""
    times: list[float] = []
    sdks: set[str] = set()
    for _ in range(runs + 1):  # the first run warms the OS file cache and bytecode
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        elapsed, loaded = json.loads(out.stdout)
        times.append(elapsed * 1000)
        sdks.update(loaded)
    median = statistics.median(times[1:])
    return [
        _row(
            "import pyclaw.llm",
            median,
            "ms",
            f"<= {IMPORT_TARGET_MS:g}",
            median <= IMPORT_TARGET_MS,
            f"median of {runs} fresh processes (min {min(times[1:]):.0f} ms)",
        ),
        _row(
            "SDKs imported by import pyclaw.llm",
            len(sdks),
            "modules",
            "0",
            not sdks,
            ", ".join(sorted(sdks)) or "none of openai, anthropic",
        ),
    ]


async def _paired(raw: Call, wrapped: Call, calls: int) -> tuple[float, float]:
    """p50 (ms) of ``raw`` and of ``wrapped``, called alternately ``calls`` times each."""
    for _ in range(20):  # warm-up: connections, caches, lazy imports
        await raw()
        await wrapped()
    raw_ms: list[float] = []
    wrapped_ms: list[float] = []
    shuffle = random.Random(3)
    for _ in range(calls):
        order = [(raw, raw_ms), (wrapped, wrapped_ms)]
        shuffle.shuffle(order)  # a fixed order would bias one side (connection reuse, GC)
        for call, sink in order:
            started = time.perf_counter()
            await call()
            sink.append((time.perf_counter() - started) * 1000)
    return statistics.median(raw_ms), statistics.median(wrapped_ms)


def _overhead_row(name: str, raw_ms: float, wrapped_ms: float, calls: int) -> Row:
    added = wrapped_ms - raw_ms
    return _row(
        name,
        added,
        "ms",
        f"< {OVERHEAD_TARGET_MS:g}",
        added < OVERHEAD_TARGET_MS,
        f"p50 over {calls} calls each: provider {wrapped_ms:.2f} ms, raw {raw_ms:.2f} ms",
    )


def _request() -> LLMRequest:
    return LLMRequest(model=MODEL, messages=(Message.user(PROMPT),), max_tokens=64)


def _retrying(provider: LLMProvider) -> RetryingProvider:
    return RetryingProvider(provider, RetryPolicy())


async def _compat_overhead(calls: int) -> Row:
    name = "overhead: OpenAICompatibleProvider + retries vs raw httpx"
    try:
        import httpx

        from pyclaw.llm._chat_format import chat_request_body
        from pyclaw.llm._compat import OpenAICompatibleProvider
    except ImportError as exc:
        return _skipped(name, f"{exc.name} is not available")
    request = _request()
    body = chat_request_body(request, model=MODEL)
    with InstantServer() as server:
        base_url = f"{server.url}/v1"
        url = f"{base_url}/chat/completions"
        headers = {"Authorization": "Bearer sk-bench"}
        async with (
            httpx.AsyncClient(timeout=30) as client,
            OpenAICompatibleProvider(base_url, model=MODEL, api_key="sk-bench") as inner,
        ):
            provider = _retrying(inner)

            async def raw() -> object:
                response = await client.post(url, json=body, headers=headers)
                response.raise_for_status()
                return response.json()

            async def wrapped() -> object:
                return await provider.complete(request)

            raw_ms, wrapped_ms = await _paired(raw, wrapped, calls)
    return _overhead_row(name, raw_ms, wrapped_ms, calls)


async def _openai_overhead(calls: int) -> Row:
    name = "overhead: OpenAIProvider + retries vs raw openai SDK"
    try:
        openai: Any = importlib.import_module("openai")
        from pyclaw.llm.openai import OpenAIProvider
    except ImportError as exc:
        return _skipped(name, f"{exc.name} is not available")
    request = _request()
    with InstantServer() as server:
        base_url = f"{server.url}/v1"
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        inner = OpenAIProvider(model=MODEL, api_key="sk-bench", base_url=base_url)
        provider = _retrying(inner)
        messages = [{"role": "user", "content": PROMPT}]

        async def raw() -> object:
            return await client.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=64
            )

        async def wrapped() -> object:
            return await provider.complete(request)

        try:
            raw_ms, wrapped_ms = await _paired(raw, wrapped, calls)
        finally:
            await client.close()
            await provider.aclose()
    return _overhead_row(name, raw_ms, wrapped_ms, calls)


async def _anthropic_overhead(calls: int) -> Row:
    name = "overhead: AnthropicProvider + retries vs raw anthropic SDK"
    try:
        anthropic: Any = importlib.import_module("anthropic")
        from pyclaw.llm.anthropic import AnthropicProvider
    except ImportError as exc:
        return _skipped(name, f"{exc.name} is not available")
    model = "claude-haiku-4-5"
    request = _request().model_copy(update={"model": model})
    with InstantServer() as server:
        client = anthropic.AsyncAnthropic(base_url=server.url, api_key="sk-bench", max_retries=0)
        inner = AnthropicProvider(model=model, api_key="sk-bench", base_url=server.url)
        provider = _retrying(inner)
        messages = [{"role": "user", "content": PROMPT}]

        async def raw() -> object:
            return await client.messages.create(model=model, messages=messages, max_tokens=64)

        async def wrapped() -> object:
            return await provider.complete(request)

        try:
            raw_ms, wrapped_ms = await _paired(raw, wrapped, calls)
        finally:
            await client.close()
            await provider.aclose()
    return _overhead_row(name, raw_ms, wrapped_ms, calls)


async def _wrapper_row(calls: int) -> Row:
    """What ``RetryingProvider`` itself adds to a call that succeeds, without any I/O."""
    inner = ScriptedProvider()
    response = await ScriptedProvider(["ok"]).complete(_request())
    inner.add(*([response] * (calls * 2)))
    provider = _retrying(inner)
    request = _request()
    started = time.perf_counter()
    for _ in range(calls):
        await inner.complete(request)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(calls):
        await provider.complete(request)
    wrapped = time.perf_counter() - started
    added_us = (wrapped - bare) / calls * 1e6
    return _row(
        "RetryingProvider's own cost per call (no I/O)",
        added_us,
        "us",
        "< 100",
        added_us < 100,
        f"mean over {calls} calls to an in-memory provider",
    )


async def _overhead_rows(calls: int) -> list[Row]:
    rows: list[Row] = [await _wrapper_row(calls * 10)]
    for bench in (_compat_overhead, _openai_overhead, _anthropic_overhead):
        try:
            rows.append(await bench(calls))
        except Exception as exc:  # noqa: BLE001 - one failing pair must not hide the others
            rows.append(_row(bench.__name__.strip("_"), 0.0, "ms", None, False, f"failed: {exc!r}"))
    return rows


def run(quick: bool = False) -> list[Row]:
    """Import cost and per-call overhead of the provider layer."""
    rows = import_rows(3 if quick else 9)
    rows.extend(asyncio.run(_overhead_rows(200 if quick else 500)))
    return rows


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        mark = {"True": "ok", "False": "MISS"}.get(str(result["ok"]), "-")
        print(
            f"{result['name']:<58} {result['value']:>9} {result['unit']:<7} "
            f"{result['target'] or '':<7} {mark:<5} {result['detail']}"
        )
