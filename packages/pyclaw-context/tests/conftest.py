"""Fakes and helpers for pyclaw-context tests: a session log in memory, a memory store, a provider."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from pyclaw.context import EstimateCounter, ExtractiveSummarizer
from pyclaw.meta import (
    GENESIS_HASH,
    AssistantMessageEvent,
    EventPayload,
    LLMRequest,
    LLMResponse,
    MemoryHit,
    MemoryItem,
    MemoryKind,
    Message,
    NotFoundError,
    SessionEvent,
    StreamEvent,
    ToolCall,
    ToolResult,
    ToolResultEvent,
    UserMessageEvent,
)


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the tiktoken cache of the default counter out of the real home."""
    path = tmp_path_factory.mktemp("pyclaw-cache")
    old = os.environ.get("PYCLAW_CACHE_DIR")
    os.environ["PYCLAW_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        del os.environ["PYCLAW_CACHE_DIR"]
    else:
        os.environ["PYCLAW_CACHE_DIR"] = old


class Log:
    """A hash-chained event list, appended to the way a SessionLog does."""

    def __init__(self, session_id: str = "ses_t") -> None:
        self.session_id = session_id
        self.events: list[SessionEvent] = []

    def add(self, *payloads: EventPayload) -> list[SessionEvent]:
        out: list[SessionEvent] = []
        for payload in payloads:
            prev = self.events[-1].hash if self.events else GENESIS_HASH
            ev = SessionEvent.seal(
                session_id=self.session_id, seq=len(self.events), payload=payload, prev_hash=prev
            )
            self.events.append(ev)
            out.append(ev)
        return out

    def user(self, text: str) -> SessionEvent:
        return self.add(UserMessageEvent(message=Message.user(text)))[0]

    def assistant(self, text: str = "", *calls: ToolCall) -> SessionEvent:
        return self.add(AssistantMessageEvent(message=Message.assistant(text, calls)))[0]

    def result(self, call: ToolCall, content: str = "ok") -> SessionEvent:
        return self.add(
            ToolResultEvent(result=ToolResult(call_id=call.id, name=call.name, content=content))
        )[0]


@pytest.fixture(scope="session")
def make_log() -> type[Log]:
    return Log


class CountingSummarizer(ExtractiveSummarizer):
    """The extractive summarizer, recording each call's level and input size."""

    def __init__(self) -> None:
        super().__init__(EstimateCounter())
        self.calls: list[tuple[int, int]] = []

    async def summarize(
        self, messages: Sequence[Message], *, target_tokens: int, level: int
    ) -> str:
        self.calls.append((level, len(messages)))
        return await super().summarize(messages, target_tokens=target_tokens, level=level)


@pytest.fixture
def summarizer() -> CountingSummarizer:
    return CountingSummarizer()


@pytest.fixture(scope="session")
def counting_summarizer() -> type[CountingSummarizer]:
    return CountingSummarizer


class FakeMemory:
    """A MemoryStore over a list: search is a case-insensitive word match."""

    def __init__(self, items: Sequence[MemoryItem] = (), *, delay: float = 0.0) -> None:
        self.items = list(items)
        self.delay = delay
        self.searches: list[tuple[str, str, int]] = []

    async def add(self, item: MemoryItem) -> MemoryItem:
        self.items.append(item)
        return item

    async def get(self, item_id: str) -> MemoryItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFoundError(f"no memory {item_id}")

    async def search(
        self, query: str, *, agent: str, limit: int = 5, kinds: Sequence[MemoryKind] | None = None
    ) -> list[MemoryHit]:
        self.searches.append((query, agent, limit))
        if self.delay:
            await asyncio.sleep(self.delay)
        words = set(query.lower().split())
        hits = [
            MemoryHit(item=i, score=1.0)
            for i in self.items
            if i.agent == agent and words & set(i.text.lower().split())
        ]
        return hits[:limit]

    async def list(self, *, agent: str, limit: int = 100) -> list[MemoryItem]:
        return [i for i in self.items if i.agent == agent][:limit]

    async def forget(self, item_id: str) -> None:
        self.items = [i for i in self.items if i.id != item_id]


@pytest.fixture(scope="session")
def fake_memory() -> type[FakeMemory]:
    return FakeMemory


class FakeProvider:
    """An LLMProvider answering from a script of texts (or raising a given error)."""

    def __init__(self, answers: Sequence[str | Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[LLMRequest] = []

    @property
    def name(self) -> str:
        return "fake"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return LLMResponse(model=request.model, provider="fake", message=Message.assistant(answer))

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError
        yield  # pragma: no cover


@pytest.fixture(scope="session")
def fake_provider() -> type[FakeProvider]:
    return FakeProvider
