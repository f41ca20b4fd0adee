"""``pyclaw chat``: one message (``-m``) or a conversation in the terminal, in this process.

Approvals: on a terminal, a request is asked inline (allow once / for 10 minutes / for this
session / always / deny); without one, it waits in the approvals table and the command says how
to answer it from another shell (``pyclaw approvals approve ID``) until it expires as a deny.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GrantScope,
    RunResult,
    SessionEvent,
    SessionInfo,
    ToolCallEvent,
    ToolResultEvent,
    Verdict,
)
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._waits import show_waits

if TYPE_CHECKING:  # the agent stack loads only for in-process turns (not for a daemon client)
    from pyclaw.runtime._agents import AgentRuntime, Presenter
    from pyclaw.runtime._config import PyClawConfig

WINDOW_SECONDS = 600.0
CHOICES: dict[str, tuple[Verdict, GrantScope, float | None, str]] = {
    "o": (Verdict.ALLOW, GrantScope.ONCE, None, "allow once"),
    "w": (Verdict.ALLOW, GrantScope.WINDOW, WINDOW_SECONDS, "allow for 10 minutes"),
    "s": (Verdict.ALLOW, GrantScope.SESSION, None, "allow for this session"),
    "a": (Verdict.ALLOW, GrantScope.FOREVER, None, "allow until revoked"),
    "d": (Verdict.DENY, GrantScope.ONCE, None, "deny"),
}


def describe_call(request: ApprovalRequest, limit: int = 300) -> str:
    """``exec {"command": "ls"}``, shortened for a terminal line."""
    call = request.call
    args = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
    text = f"{call.name} {args}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class TerminalObserver:
    """Shows tool activity on stderr while a turn runs: a ``pyclaw.brain.RunObserver``."""

    err: TextIO = field(default_factory=lambda: sys.stderr)
    verbose: bool = True

    async def on_event(self, event: SessionEvent) -> None:
        if not self.verbose:
            return
        payload = event.payload
        if isinstance(payload, ToolCallEvent):
            args = ", ".join(f"{k}={v!r}" for k, v in payload.call.arguments.items())
            line = f"  → {payload.call.name}({args})"
            print(line if len(line) < 160 else line[:159] + "…", file=self.err, flush=True)
        elif isinstance(payload, ToolResultEvent) and not payload.result.ok:
            message = (
                payload.result.error.message if payload.result.error else payload.result.status
            )
            print(f"  ✗ {payload.result.name}: {message}", file=self.err, flush=True)

    async def on_text(self, delta: str) -> None:
        return None


def terminal_presenter(runtime_ref: list[AgentRuntime], *, interactive: bool) -> Presenter:
    """How approval requests reach the person at this terminal."""

    async def present(request: ApprovalRequest) -> None:
        runtime = runtime_ref[0]
        if not interactive:
            print_approval_hint(request)
            return
        answer = await asyncio.to_thread(ask_approval, request)
        verdict, scope, window, _ = CHOICES[answer]
        await runtime.approvals.resolve(
            request.id,
            ApprovalDecision(
                request_id=request.id,
                call_hash=request.call_hash,
                verdict=verdict,
                scope=scope,
                window_seconds=window,
                decided_by="terminal",
            ),
        )

    return present


def print_approval_hint(request: ApprovalRequest) -> None:
    """Without a terminal: say on stderr how to answer ``request`` from another shell."""
    print(
        f"approval needed: {describe_call(request)}\n"
        f"  reason: {request.reason}\n"
        f"  answer from another shell: pyclaw approvals approve {request.id} "
        f"[--scope once|window|session|always]   or   pyclaw approvals deny {request.id}",
        file=sys.stderr,
        flush=True,
    )


def ask_approval(request: ApprovalRequest) -> str:
    """Ask at the terminal (blocking: run it in a thread); the key of the chosen ``CHOICES``."""
    print(f"\n⚠ {describe_call(request)}\n  {request.reason}", file=sys.stderr, flush=True)
    options = "  ".join(f"[{key}] {label}" for key, (*_, label) in CHOICES.items())
    while True:
        print(f"  {options}: ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return "d"
        answer = line.strip().lower()[:1]
        if answer in CHOICES:
            return answer


async def chat_once(
    home: PyClawHome,
    config: PyClawConfig,
    text: str,
    *,
    agent: str | None,
    session_id: str | None,
    interactive: bool,
    verbose: bool,
) -> tuple[SessionInfo, RunResult]:
    """Run one message through the agent; the session and the run's result. ``verbose`` shows
    tool activity and long Cortensor waits on stderr."""
    from pyclaw.runtime._agents import AgentRuntime  # noqa: PLC0415 - see TYPE_CHECKING above

    ref: list[AgentRuntime] = []
    present = terminal_presenter(ref, interactive=interactive)
    async with AgentRuntime.open(home, config, present=present) as runtime:
        ref.append(runtime)
        with show_waits(verbose):
            return await runtime.run_turn(
                text,
                agent=agent,
                session_id=session_id,
                channel="cli",
                observer=TerminalObserver(verbose=verbose),
            )


async def chat_repl(
    home: PyClawHome, config: PyClawConfig, *, agent: str | None, session_id: str | None
) -> None:
    """A conversation: each line a turn in one session, until EOF or ``/exit``."""
    from pyclaw.runtime._agents import AgentRuntime  # noqa: PLC0415 - see TYPE_CHECKING above

    ref: list[AgentRuntime] = []
    present = terminal_presenter(ref, interactive=True)
    async with AgentRuntime.open(home, config, present=present) as runtime:
        ref.append(runtime)
        hot = await runtime.agent(agent)
        print(
            f"pyclaw chat: agent {hot.profile.name} ({hot.profile.provider}"
            f"{'/' + hot.profile.model if hot.profile.model else ''}). /exit or Ctrl-D to leave.",
            file=sys.stderr,
        )
        while True:
            print("you> ", end="", file=sys.stderr, flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip() in ("/exit", "/quit"):
                return
            text = line.strip()
            if not text:
                continue
            with show_waits():
                session, result = await runtime.run_turn(
                    text, agent=agent, session_id=session_id, observer=TerminalObserver()
                )
            session_id = session.id
            print_result(result)


def print_result(result: RunResult) -> None:
    """The answer on stdout; a failure's reason on stderr."""
    if result.answer is not None and result.answer.text:
        print(result.answer.text, flush=True)
    if result.error is not None:
        print(f"error: {result.error.message}", file=sys.stderr, flush=True)


def result_json(session: SessionInfo | str, result: RunResult) -> dict[str, object]:
    """What ``pyclaw chat -m … --json`` prints (``session``: the session or its id)."""
    return {
        "session_id": session if isinstance(session, str) else session.id,
        "run_id": result.run_id,
        "status": result.status.value,
        "answer": result.answer.text if result.answer is not None else None,
        "steps": result.steps,
        "usage": result.usage.model_dump(mode="json"),
        "cost_usd": result.cost_usd,
        "error": None if result.error is None else result.error.model_dump(mode="json"),
    }
