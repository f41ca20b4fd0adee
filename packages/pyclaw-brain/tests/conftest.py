"""Fixtures for pyclaw-brain's tests: a ``Harness`` wiring an ``AgentBrain`` to in-memory fakes.

``fakes.py`` is loaded under the unique module name ``pyclaw_brain_fakes`` so tests can import
its helpers (``from pyclaw_brain_fakes import reply``) under ``--import-mode=importlib``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from pyclaw.brain import AgentBrain, BrainSettings
from pyclaw.meta import AgentProfile, Budget, Message, RunRequest, RunResult


def _load_fakes() -> Any:
    name = "pyclaw_brain_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()


class Harness:
    """One session, fake collaborators, and helpers to run the brain and inspect the log."""

    def __init__(self) -> None:
        self.log = fakes.MemorySessionLog()
        self.llm = fakes.ScriptedLLM()
        self.context = fakes.FakeContext()
        self.tools = fakes.FakeTools()
        self.agent = AgentProfile(name="main", provider="scripted", model="fake-1")
        self.session_id = ""

    async def start(self) -> Harness:
        self.session_id = (await self.log.create_session(agent="main", channel="test")).id
        return self

    def brain(self, **kwargs: Any) -> AgentBrain:
        settings = kwargs.pop("settings", None) or BrainSettings(**kwargs.pop("config", {}))
        args: dict[str, Any] = {
            "agent": self.agent,
            "llm": self.llm,
            "context": self.context,
            "tools": self.tools,
            "sessions": self.log,
            "settings": settings,
        }
        args.update(kwargs)
        return AgentBrain(**args)

    def request(self, text: str = "hello", **budget: Any) -> RunRequest:
        return RunRequest(
            session_id=self.session_id,
            agent=self.agent.name,
            input=Message.user(text),
            budget=Budget(**budget),
        )

    async def run(
        self, text: str = "hello", *, brain: AgentBrain | None = None, **budget: Any
    ) -> RunResult:
        return await (brain or self.brain()).run(self.request(text, **budget))

    def kinds(self) -> list[str]:
        return self.log.kinds(self.session_id)

    def payloads(self, kind: str) -> list[Any]:
        return [p for p in self.log.payloads(self.session_id) if p.kind == kind]

    async def assert_sound(self) -> None:
        """The log verifies and no tool call is left without a result."""
        events = self.log.events[self.session_id]
        assert fakes.unpaired_calls(events) == []
        assert (await self.log.verify(self.session_id)).ok


@pytest.fixture
async def h() -> Harness:
    return await Harness().start()
