"""``pyclaw chat`` when a daemon runs: the turn runs in the daemon, this process shows it.

The output, exit statuses and ``--json`` shape are those of the in-process chat (``_chat``):
session events are rendered by the same ``TerminalObserver``; an approval request is asked inline
on a terminal with the same choices and answered on the same connection, and without a terminal
the command prints how to answer it from another shell and keeps waiting. Ctrl-C stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from pydantic import ValidationError

from pyclaw.meta import ApprovalRequest, RunResult, SessionEvent
from pyclaw.runtime._chat import (
    CHOICES,
    TerminalObserver,
    ask_approval,
    print_approval_hint,
    print_result,
)
from pyclaw.runtime._control_client import ControlConnection, control_request
from pyclaw.runtime._control_wire import ControlError, JsonObject, raise_for_error
from pyclaw.runtime._home import PyClawHome

STOP_TIMEOUT_S = 2.0
T = TypeVar("T")


@dataclass
class DaemonChat:
    """One chat turn through the daemon's ``chat`` op, rendered on this terminal."""

    path: Path
    observer: TerminalObserver
    interactive: bool
    session_id: str | None = None
    run_id: str | None = None
    _prompt_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def turn(self, text: str, *, agent: str | None) -> tuple[str, RunResult]:
        """Send ``text``; the session id and the run's result once the daemon says ``done``."""
        request: JsonObject = {
            "op": "chat",
            "id": f"cli:{uuid.uuid4()}",
            "text": text,
            "agent": agent,
            "session": self.session_id,
        }
        self.run_id = None
        prompts: set[asyncio.Task[None]] = set()
        try:
            async with ControlConnection(self.path) as conn:
                await conn.send(request)
                async for message in conn:
                    done = await self._on_message(conn, message, prompts)
                    if done is not None:
                        return done
        except asyncio.CancelledError:
            await self._stop_run()
            raise
        finally:
            for task in prompts:
                task.cancel()
        raise ControlError(
            "the daemon closed the connection before the run finished"
            + (f" (see 'pyclaw runs show {self.run_id}')" if self.run_id else "")
        )

    async def _on_message(
        self, conn: ControlConnection, message: JsonObject, prompts: set[asyncio.Task[None]]
    ) -> tuple[str, RunResult] | None:
        event = message.get("event")
        if event is None:
            raise_for_error(message)
        elif event == "session":
            self.session_id = _text(message.get("session_id")) or self.session_id
        elif event == "session_event":
            await self._show_event(message.get("data"))
        elif event == "text":
            await self.observer.on_text(_text(message.get("delta")) or "")
        elif event == "approval":
            request = ApprovalRequest.model_validate(message.get("request"))
            if self.interactive:
                task = asyncio.create_task(self._answer(conn, request))
                prompts.add(task)
                task.add_done_callback(prompts.discard)
            else:
                print_approval_hint(request)
        elif event == "error":
            print(
                f"daemon: {_text(message.get('message')) or 'error'}", file=sys.stderr, flush=True
            )
        elif event == "done":
            raw = message.get("result")
            if raw is None:
                raise ControlError(
                    "the run ended without a result"
                    + (f" (see 'pyclaw runs show {self.run_id}')" if self.run_id else "")
                )
            result = RunResult.model_validate(raw)
            self.session_id = _text(message.get("session_id")) or self.session_id
            if self.session_id is None:
                raise ControlError("the daemon finished the run without naming its session")
            return self.session_id, result
        return None

    async def _show_event(self, data: object) -> None:
        try:
            event = SessionEvent.model_validate(data)
        except ValidationError:
            return  # an event kind this client does not know: nothing to show
        if event.run_id is not None:
            self.run_id = event.run_id
        await self.observer.on_event(event)

    async def _answer(self, conn: ControlConnection, request: ApprovalRequest) -> None:
        async with self._prompt_lock:  # one question at a time on one terminal
            answer = await _in_daemon_thread(lambda: ask_approval(request))
        verdict, scope, window, _ = CHOICES[answer]
        with contextlib.suppress(ControlError):  # the run may have ended meanwhile
            await conn.send(
                {
                    "op": "approve",
                    "request_id": request.id,
                    "verdict": verdict.value,
                    "scope": scope.value,
                    "window_seconds": window,
                }
            )

    async def _stop_run(self) -> None:
        if self.run_id is None:
            return
        with contextlib.suppress(ControlError, TimeoutError):
            await control_request(
                self.path, {"op": "runs.stop", "run_id": self.run_id}, timeout=STOP_TIMEOUT_S
            )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def _in_daemon_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a daemon thread: a prompt left waiting on stdin never blocks the exit (unlike
    ``asyncio.to_thread``, whose executor ``asyncio.run`` waits for)."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if outcome.done():
            return
        if error is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(cast("T", value))

    def work() -> None:
        try:
            value, error = fn(), None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting task, raised there
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name="pyclaw-chat-input", daemon=True).start()
    return await outcome


async def chat_once_via_daemon(
    home: PyClawHome,
    text: str,
    *,
    agent: str | None,
    session_id: str | None,
    interactive: bool,
    verbose: bool,
) -> tuple[str, RunResult]:
    """One message through the daemon: the session id and the run's result."""
    chat = DaemonChat(
        home.control_socket,
        TerminalObserver(verbose=verbose),
        interactive=interactive,
        session_id=session_id,
    )
    return await chat.turn(text, agent=agent)


async def chat_repl_via_daemon(
    home: PyClawHome, *, agent: str | None, session_id: str | None
) -> None:
    """A conversation through the daemon: each line a turn in one session, until EOF or ``/exit``."""
    path = home.control_socket
    info = await control_request(path, {"op": "ping"}, timeout=5.0)
    print(
        f"pyclaw chat: through the daemon (pid {info.get('pid')}). /exit or Ctrl-D to leave.",
        file=sys.stderr,
    )
    chat = DaemonChat(path, TerminalObserver(), interactive=True, session_id=session_id)
    while True:
        print("you> ", end="", file=sys.stderr, flush=True)
        line = await _in_daemon_thread(sys.stdin.readline)
        if not line or line.strip() in ("/exit", "/quit"):
            return
        text = line.strip()
        if not text:
            continue
        _, result = await chat.turn(text, agent=agent)
        print_result(result)
