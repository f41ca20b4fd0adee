"""The composition root for agents: one ``AgentRuntime`` per process wires the stores, policy,
approvals, memory, guards, providers, context builders, tool hosts and brains of a home.

Agents are kept hot: each agent's brain (with its provider connection, a managed local model
server, its tool host and its context caches) is built on first use and reused for every later
turn until ``aclose()``. ``chat`` uses it in-process today; the daemon uses the same object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyclaw.brain import AgentBrain, BrainSettings, RunObserver
from pyclaw.context import DefaultContextBuilder, LLMSummarizer
from pyclaw.memory import SQLiteMemoryStore
from pyclaw.meta import (
    AgentProfile,
    ApprovalRequest,
    ControlEvent,
    Delegator,
    LLMProvider,
    Message,
    PyClawError,
    RunRequest,
    RunResult,
    SessionInfo,
    Validator,
    new_id,
    utcnow,
)
from pyclaw.os import (
    LocalToolHost,
    Tool,
    ToolEnv,
    ToolRegistry,
    available_builtin_tools,
    builtin_tool_names,
)
from pyclaw.policy import ApprovalBroker, SQLitePolicyEngine
from pyclaw.runtime._config import PyClawConfig
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._logging import use_redactor
from pyclaw.runtime._providers import open_delegator, open_provider
from pyclaw.runtime._services import Services, open_services, secret_store
from pyclaw.safety import (
    GuardChain,
    RedactingArtifactStore,
    RedactionGuard,
    SecretRedactor,
    UntrustedContentGuard,
    default_nonce,
)
from pyclaw.secret import DefaultSecretStore

Presenter = Callable[[ApprovalRequest], Awaitable[None]]
log = logging.getLogger("pyclaw.runtime")


@dataclass
class HotAgent:
    """One agent, built once and reused: its profile, provider, tools and brain."""

    profile: AgentProfile
    provider: LLMProvider
    tools: LocalToolHost
    brain: AgentBrain
    unavailable_tools: dict[str, str] = field(default_factory=dict[str, str])
    delegator: Delegator | None = None
    """The Cortensor router of the ``delegate`` tool (closed with the agent)."""


class AgentRuntime:
    """Runs agents of one home in this process.

    ``present`` is how an approval request reaches a human (the terminal prompt, Telegram
    buttons); without it requests wait in the approvals table for ``pyclaw approvals approve``.
    """

    def __init__(
        self,
        *,
        home: PyClawHome,
        config: PyClawConfig,
        services: Services,
        secrets: DefaultSecretStore,
        redactor: SecretRedactor,
        present: Presenter | None = None,
        clock: Callable[[], datetime] = utcnow,
        brain_settings: BrainSettings | None = None,
        boundary_nonce: str | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.services = services
        self.secrets = secrets
        self.redactor = redactor
        self.clock = clock
        self.memory = SQLiteMemoryStore(services.db)
        self.policy = SQLitePolicyEngine(services.db, config.policy, clock=clock)
        self.approvals = ApprovalBroker(
            services.db,
            present=present,
            clock=clock,
            timeout_s=config.policy.approval_timeout_s,
        )
        self.untrusted = (
            UntrustedContentGuard()
            if boundary_nonce is None
            else UntrustedContentGuard(nonce_factory=lambda: boundary_nonce)
        )
        self.guard = GuardChain([RedactionGuard(redactor), self.untrusted])
        self.brain_settings = brain_settings or BrainSettings(
            approval_timeout_s=config.policy.approval_timeout_s
        )
        self._agents: dict[str, HotAgent] = {}
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        home: PyClawHome,
        config: PyClawConfig,
        *,
        present: Presenter | None = None,
        clock: Callable[[], datetime] = utcnow,
        brain_settings: BrainSettings | None = None,
    ) -> AsyncGenerator[AgentRuntime]:
        """Open the home's stores and a runtime on them; everything is closed on exit."""
        secrets = secret_store(home)
        redactor = await asyncio.to_thread(build_redactor, config, secrets)
        use_redactor(redactor)
        with open_services(home, redactor=redactor) as services:
            nonce = await services.db.run(_boundary_nonce, services)
            runtime = cls(
                home=home,
                config=config,
                services=services,
                secrets=secrets,
                redactor=redactor,
                present=present,
                clock=clock,
                brain_settings=brain_settings,
                boundary_nonce=nonce,
            )
            try:
                yield runtime
            finally:
                await runtime.aclose()

    async def agent(self, name: str | None = None) -> HotAgent:
        """The hot agent ``name`` (default: ``default_agent``), built on first use."""
        profile = self.config.agent_profile(name)
        async with self._lock:
            hot = self._agents.get(profile.name)
            if hot is None:
                hot = await asyncio.to_thread(self._build, profile)
                self._agents[profile.name] = hot
            return hot

    def _build(self, profile: AgentProfile) -> HotAgent:
        provider = open_provider(
            self.config,
            profile.provider,
            self.secrets,
            log_dir=str(self.home.logs_dir),
            on_secret=self.redactor.register,
        )
        delegator, why_not = self._delegator(profile)
        env = ToolEnv(
            workspace=self.home.workspace_dir,
            artifacts=RedactingArtifactStore(self.services.artifacts, self.redactor),
            memory=self.memory,
            settings=self.config.tools,
            delegator=delegator,
            redactor=self.redactor,
        )
        tools, unavailable = agent_tools(env, profile.tools)
        if why_not is not None and "delegate" in profile.tools:
            unavailable["delegate"] = why_not
        validator = delegator if profile.verify and isinstance(delegator, Validator) else None
        if profile.verify and validator is None:
            log.warning(
                "agent %s: verify = true needs a Cortensor router (%s); answers go unverified",
                profile.name,
                why_not or "none configured",
            )
        for name, reason in unavailable.items():
            log.warning("agent %s: tool %s is unavailable here: %s", profile.name, name, reason)
        host = LocalToolHost(env, tools)
        context = DefaultContextBuilder(
            summarizer=LLMSummarizer(provider, profile.model or ""),
            memory=self.memory,
            skills=(self.guard_notice(),),
        )
        brain = AgentBrain(
            agent=profile,
            llm=provider,
            context=context,
            tools=host,
            sessions=self.services.sessions,
            policy=self.policy,
            approver=self.approvals,
            guard=self.guard,
            settings=self.brain_settings,
            clock=self.clock,
            workspace=str(self.home.workspace_dir),
            validator=validator,
        )
        return HotAgent(profile, provider, host, brain, unavailable, delegator)

    def _delegator(self, profile: AgentProfile) -> tuple[Delegator | None, str | None]:
        """The Cortensor router when the agent lists the ``delegate`` tool or has ``verify = true``
        (its answers are then judged by the router's validate surface), else ``None``; a router
        that cannot be set up makes the tool unavailable (with the reason), not the agent."""
        if "delegate" not in profile.tools and not profile.verify:
            return None, None
        try:
            client = open_delegator(self.config, self.secrets, on_secret=self.redactor.register)
        except PyClawError as exc:
            return None, str(exc)
        return client, None

    def guard_notice(self) -> str:
        """What the system prompt says about the untrusted-content markers of this home."""
        return self.untrusted.instructions()

    async def session_for(
        self, *, agent: str, session_id: str | None, channel: str, external_key: str | None = None
    ) -> SessionInfo:
        """``session_id``'s session, else a new one for ``agent`` on ``channel``."""
        if session_id is not None:
            return await self.services.sessions.get_session(session_id)
        return await self.services.sessions.create_session(
            agent=agent, channel=channel, external_key=external_key
        )

    async def run_turn(
        self,
        text: str,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        channel: str = "cli",
        origin: ControlEvent | None = None,
        observer: RunObserver | None = None,
        run_id: str | None = None,
        resume_of: str | None = None,
    ) -> tuple[SessionInfo, RunResult]:
        """Run one user turn through an agent; returns the session and the run's result.

        ``run_id`` fixes the run's id (the daemon records it before the run starts);
        ``resume_of`` continues an interrupted run of the session instead (after a crash).
        """
        hot = await self.agent(agent)
        session = await self.session_for(
            agent=hot.profile.name, session_id=session_id, channel=channel
        )
        request = RunRequest(
            session_id=session.id,
            agent=hot.profile.name,
            input=Message.user(text),
            origin=origin,
            budget=hot.profile.budget,
            resume_of=resume_of,
            id=run_id or new_id("run"),
        )
        result = await hot.brain.run(request, observer=observer)
        return session, result

    async def aclose(self) -> None:
        """Close every hot agent's provider (stopping a managed local model server) and tools."""
        agents, self._agents = list(self._agents.values()), {}
        try:
            for hot in agents:
                await hot.tools.aclose()
                for owned in (hot.provider, hot.delegator):
                    close = getattr(owned, "aclose", None)
                    if close is not None:
                        await close()
        finally:
            self.policy.close()


def agent_tools(env: ToolEnv, names: Sequence[str]) -> tuple[list[Tool[Any]], dict[str, str]]:
    """The tools an agent names: built-ins by name, the rest (``plugin:<name>`` or a dotted name)
    from the ``pyclaw.tools`` entry points; what cannot be built is returned as ``name -> why``."""
    builtin = set(builtin_tool_names())
    tools, unavailable = available_builtin_tools(env, names=[n for n in names if n in builtin])
    wanted = [n for n in names if n not in builtin]
    if wanted:
        registry = ToolRegistry()
        loaded = registry.load_entry_points(env, under_pytest=True)
        for name in wanted:
            found = registry.get(name.removeprefix("plugin:"))
            if found is not None:
                tools.append(found)
            else:
                why = "; ".join(e.message for e in loaded.errors) or "no pyclaw.tools plug-in"
                unavailable[name] = f"not installed ({why})"
    return tools, unavailable


NONCE_KEY = "safety.boundary_nonce"


def _boundary_nonce(services: Services) -> str:
    """The home's untrusted-content boundary id: one per home, so results recorded by an earlier
    process carry the same id the system prompt names now. Content can never carry it: the guard
    removes any copy of the genuine id from what it wraps."""
    nonce = services.db.kv_get(NONCE_KEY)
    if nonce is None:
        nonce = default_nonce()
        services.db.kv_set(NONCE_KEY, nonce)
    return nonce


def build_redactor(config: PyClawConfig, secrets: DefaultSecretStore) -> SecretRedactor:
    """A redactor knowing every secret of the store and every key written into the config.

    Blocking (keyring reads): call it in a thread.
    """
    redactor = SecretRedactor()
    for info in secrets.list():
        value = secrets.get(info.name)
        if value:
            redactor.register(info.name, value)
    for key, value in config.secret_fields():
        if not value.startswith("secret:"):
            redactor.register(key, value)
    return redactor
