"""``LocalProvider`` and ``build_local_provider`` against a fake ``llama-server``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from pyclaw.llm import ProviderSettings, RetryingProvider, RetryPolicy, build_provider
from pyclaw.llm.local import (
    DEFAULT_MODEL_NAME,
    LocalProvider,
    LocalServer,
    build_local_provider,
)
from pyclaw.meta import LLMRequest, Message, ProviderError, ResponseDone, TextDelta

FAKE = Path(__file__).with_name("test_local_fake_llama.py")


def request(text: str = "hello there") -> LLMRequest:
    return LLMRequest(model="", messages=(Message.user(text),))


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-chat.gguf"
    path.write_bytes(b"GGUF")
    return path


async def test_the_server_starts_on_first_use_and_stops_with_aclose(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    llm = LocalProvider(model_path=model, binary=binary, log_dir=tmp_path)
    assert llm.server is not None
    assert llm.server.pid is None  # lazy
    response = await llm.complete(request())
    pid = llm.server.pid
    assert pid is not None
    assert response.message.text == "echo: hello there"
    assert response.provider == "local"
    assert response.model == "tiny-chat"
    assert response.usage.input_tokens == 7
    assert response.usage.output_tokens == 3
    assert response.cost_usd == 0.0  # local models are free unless priced
    await llm.aclose()
    assert llm.server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ProviderError, match="is closed"):
        await llm.complete(request())


async def test_streaming_yields_deltas_and_the_complete_response(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    async with LocalProvider(model_path=model, binary=binary, log_dir=tmp_path) as llm:
        events = [event async for event in llm.stream(request("one two"))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == "echo: one two"
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.message.text == "echo: one two"
    assert done.response.usage.output_tokens == 3


async def test_a_crash_mid_request_is_retryable_and_the_server_comes_back(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    crash = tmp_path / "crash-once"
    crash.touch()
    env = {**os.environ, "FAKE_LLAMA_CRASH_IF": str(crash)}
    server = LocalServer(
        model_path=model, binary=binary, log_dir=tmp_path, env=env, restart_backoff=0.05
    )
    async with LocalProvider(server=server) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(request())
        assert caught.value.retryable
        for _ in range(200):  # the supervisor notices the exit and restarts the server
            if server.restarts:
                break
            await asyncio.sleep(0.05)
        assert server.restarts == 1
        assert (await llm.complete(request("again"))).message.text == "echo: again"


async def test_with_retries_a_crash_is_invisible_to_the_caller(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    crash = tmp_path / "crash-once"
    crash.touch()
    env = {**os.environ, "FAKE_LLAMA_CRASH_IF": str(crash)}
    server = LocalServer(
        model_path=model, binary=binary, log_dir=tmp_path, env=env, restart_backoff=0.05
    )
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    async with RetryingProvider(LocalProvider(server=server), policy) as llm:
        assert (await llm.complete(request("hi"))).message.text == "echo: hi"
    assert not crash.exists()


async def test_a_base_url_is_used_as_is_and_no_process_is_managed(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    async with LocalServer(model_path=model, binary=binary, log_dir=tmp_path) as running:
        assert running.api_base is not None
        llm = LocalProvider(base_url=running.api_base, model="llama3.2")
        assert llm.server is None
        response = await llm.complete(request("via url"))
        assert response.message.text == "echo: via url"
        assert llm.model == "llama3.2"
        await llm.aclose()
        assert running.pid is not None  # not ours to stop


def test_base_url_and_a_managed_model_exclude_each_other(model: Path) -> None:
    with pytest.raises(ProviderError, match="either base_url or a local model"):
        LocalProvider(base_url="http://127.0.0.1:1/v1", model_path=model)


def test_the_default_model_name_is_the_bundled_one() -> None:
    llm = LocalProvider()
    assert llm.model == DEFAULT_MODEL_NAME
    assert llm.server is not None


async def test_build_local_provider_reads_the_settings(
    binary: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_url = build_local_provider(
        "ollama", ProviderSettings(kind="local", base_url="http://127.0.0.1:11434/v1", model="qwen")
    )
    assert by_url.server is None
    assert by_url.model == "qwen"
    bundled = build_local_provider("local", ProviderSettings(kind="local"))
    assert bundled.model == DEFAULT_MODEL_NAME
    with pytest.raises(ProviderError, match=r"needs model = a \.gguf file path"):
        build_local_provider("local", ProviderSettings(kind="local", model="gpt-4o"))

    monkeypatch.setenv("PYCLAW_LLAMA_SERVER", str(binary))
    built = build_provider("mine", ProviderSettings(kind="local", model=str(model)))
    async with built:
        response = await built.complete(request("built"))
    assert response.message.text == "echo: built"
    assert response.provider == "mine"
    assert response.cost_usd == 0.0


async def test_cancelling_a_call_during_start_leaves_no_process(
    binary: Path, model: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "FAKE_LLAMA_NEVER_READY": "1", "FAKE_LLAMA_RECORD": str(tmp_path / "r")}
    server = LocalServer(model_path=model, binary=binary, log_dir=tmp_path, env=env)
    async with LocalProvider(server=server) as llm:
        task = asyncio.create_task(llm.complete(request()))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert server.pid is None
    pid = json.loads((tmp_path / "r").read_text())["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
