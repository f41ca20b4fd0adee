"""Building the brains a replay runs: the real ``AgentBrain`` of an agent, wired to the recording.

Per agent, once per command: the context builder (extractive summaries under ``--strict``, so
nothing calls a model the recording does not answer; else the agent's LLM summarizer), the live
tool host (whose specs the model is offered in every mode), the provider (only when a replay
needs a real model: never under ``--strict``) and, for ``--tools live``, a policy engine on a
scratch database with this home's policy rules (no grants: a replay never reuses or creates a
permission of the home). Per case, ``ReplayIO`` supplies the scratch session log, the recorded
tool results, the recorded policy decisions and the approver.

Guards: the home's guard chain runs in every mode. With recorded tools, an untrusted result is
served unwrapped (as the tool returned it) and the untrusted-content guard wraps it again with the
boundary id found in the recording, so the guard's work (and its ``guard_action`` event) is
re-derived exactly, even for a session imported from another home. Approvals: always the recorded verdict for the same call, else a denial
(nobody is asked during a replay).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pyclaw.brain import AgentBrain
from pyclaw.context import DefaultContextBuilder, LLMSummarizer
from pyclaw.eval import RecordedSession, RecordedToolHost, ReplayIO
from pyclaw.meta import (
    AgentProfile,
    LLMProvider,
    ToolCall,
    ToolContext,
    ToolResult,
    ToolSpec,
    UsageError,
)
from pyclaw.os import LocalToolHost, ToolEnv
from pyclaw.policy import POLICY_MIGRATIONS, SQLitePolicyEngine
from pyclaw.runtime._agents import AgentRuntime, agent_tools
from pyclaw.runtime._providers import open_provider
from pyclaw.safety import (
    GuardChain,
    RedactingArtifactStore,
    RedactionGuard,
    UntrustedContentGuard,
    unwrap_untrusted,
)
from pyclaw.storage import Database


@dataclass
class ModelChoice:
    """``--provider`` / ``--model``: which model answers a non-strict replay (default: the agent's)."""

    provider: str | None = None
    model: str | None = None


@dataclass
class _Agent:
    profile: AgentProfile
    host: LocalToolHost
    context: DefaultContextBuilder
    provider: LLMProvider | None


@dataclass
class ReplayWiring:
    """``make_brain`` for ``pyclaw.eval.replay``: one per command, closed with ``aclose``."""

    rt: AgentRuntime
    strict: bool
    choice: ModelChoice = field(default_factory=ModelChoice)
    _agents: dict[str, _Agent] = field(default_factory=dict[str, _Agent])
    _scratch: tempfile.TemporaryDirectory[str] | None = None
    _db: Database | None = None
    _policy: SQLitePolicyEngine | None = None

    def profile(self, name: str | None) -> AgentProfile:
        """The agent ``name`` (default agent when ``None``) with the model choice applied."""
        profile = self.rt.config.agent_profile(name)
        updates: dict[str, object] = {}
        if self.choice.provider is not None:
            if self.choice.provider not in self.rt.config.providers:
                known = ", ".join(sorted(self.rt.config.providers)) or "none"
                raise UsageError(f"unknown provider {self.choice.provider!r} (configured: {known})")
            updates["provider"] = self.choice.provider
        if self.choice.model is not None:
            updates["model"] = self.choice.model
        return profile.model_copy(update=updates) if updates else profile

    def agent(self, name: str) -> _Agent:
        hot = self._agents.get(name)
        if hot is None:
            hot = self._agents[name] = self._build(self.profile(name))
        return hot

    def _build(self, profile: AgentProfile) -> _Agent:
        rt = self.rt
        env = ToolEnv(
            workspace=rt.home.workspace_dir,
            artifacts=RedactingArtifactStore(rt.services.artifacts, rt.redactor),
            memory=rt.memory,
            settings=rt.config.tools,
        )
        tools, _ = agent_tools(env, profile.tools)
        provider = None if self.strict else self._open(profile)
        summarizer = None if provider is None else LLMSummarizer(provider, profile.model or "")
        context = DefaultContextBuilder(
            summarizer=summarizer, memory=rt.memory, skills=(rt.guard_notice(),)
        )
        return _Agent(profile, LocalToolHost(env, tools), context, provider)

    def _open(self, profile: AgentProfile) -> LLMProvider:
        rt = self.rt
        return open_provider(
            rt.config,
            profile.provider,
            rt.secrets,
            log_dir=str(rt.home.logs_dir),
            on_secret=rt.redactor.register,
        )

    def live_policy(self) -> SQLitePolicyEngine:
        if self._policy is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="pyclaw-replay-")
            path = Path(self._scratch.name) / "policy.db"
            self._db = Database.open(path, migrations=(POLICY_MIGRATIONS,))
            self._policy = SQLitePolicyEngine(self._db, self.rt.config.policy, clock=self.rt.clock)
        return self._policy

    def __call__(self, io: ReplayIO) -> AgentBrain:
        hot = self.agent(io.case.agent)
        if io.llm is None and hot.provider is None:  # a suite's inline prompt under strict
            hot.provider = self._open(hot.profile)
        llm = io.llm or hot.provider
        assert llm is not None
        live = io.tools_mode == "live"
        io.tools.offer(hot.host.list_tools())  # the model sees the agent's tools as they are now
        if live:
            guard = self.rt.guard
        else:
            nonce = recorded_nonce(io.session) or self.rt.untrusted.nonce
            untrusted = UntrustedContentGuard(nonce_factory=lambda: nonce)
            guard = GuardChain([RedactionGuard(self.rt.redactor), untrusted])
        return AgentBrain(
            agent=hot.profile,
            llm=llm,
            context=hot.context,
            tools=hot.host if live else UnwrappingHost(io.tools),
            sessions=io.sessions,
            policy=self.live_policy() if live else io.policy,
            approver=io.approver,
            guard=guard,
            settings=self.rt.brain_settings,
            clock=self.rt.clock,
            workspace=str(self.rt.home.workspace_dir),
        )

    async def aclose(self) -> None:
        agents, self._agents = list(self._agents.values()), {}
        for hot in agents:
            await hot.host.aclose()
            close = getattr(hot.provider, "aclose", None)
            if close is not None:
                await close()
        if self._policy is not None:
            self._policy.close()
        if self._db is not None:
            self._db.close()
        if self._scratch is not None:
            self._scratch.cleanup()


_BOUNDARY_ID = re.compile(r"\A<<<UNTRUSTED_CONTENT id=([A-Za-z0-9]{8,64})>>>\n")


def recorded_nonce(session: RecordedSession) -> str | None:
    """The untrusted-content boundary id the recording's results were wrapped with, if any."""
    for case in session.cases:
        for result in case.facts.results.values():
            found = _BOUNDARY_ID.match(result.content)
            if found is not None:
                return found.group(1)
    return None


class UnwrappingHost:
    """Serves recorded results as the tool returned them: an untrusted result's content comes
    out of its boundary markers, for the untrusted-content guard to wrap again."""

    def __init__(self, inner: RecordedToolHost) -> None:
        self.inner = inner

    def list_tools(self) -> list[ToolSpec]:
        return self.inner.list_tools()

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        result = await self.inner.execute(call, context)
        body = unwrap_untrusted(result.content) if result.untrusted else None
        return result if body is None else result.model_copy(update={"content": body})
