"""The daemon's side of the control socket: ``ping``, ``status``, ``chat`` and ``runs.stop``.

The wire format is documented in ``_control``. A ``chat`` becomes an inbox item of channel
``cli`` (its ``id`` is the external id, so a client retrying the same request is not run twice)
in the queue of its session; the connection follows the item: session events, streamed text,
approval requests (answered on the same connection) and the final result.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
from datetime import datetime

from pydantic import JsonValue

from pyclaw.meta import (
    ApprovalRequest,
    ControlEvent,
    GrantScope,
    SessionEvent,
    UsageError,
    Verdict,
)
from pyclaw.runtime._control import ControlProtocolError, JsonObject, ReplyStream
from pyclaw.runtime._daemon import CLI_CHANNEL, Daemon, Watch

log = logging.getLogger("pyclaw.daemon")


class _Forward:
    """A run observer sending the run's events to a connected client."""

    def __init__(self, reply: ReplyStream) -> None:
        self.reply = reply

    async def on_event(self, event: SessionEvent) -> None:
        if not self.reply.closed:
            await self.reply.send({"event": "session_event", "data": event.model_dump(mode="json")})

    async def on_text(self, delta: str) -> None:
        if not self.reply.closed:
            await self.reply.send({"event": "text", "delta": delta})


class DaemonControl:
    """Implements ``ControlHandler`` for a running ``Daemon``."""

    def __init__(self, daemon: Daemon, *, started_at: datetime, version: str) -> None:
        self.daemon = daemon
        self.started_at = started_at
        self.version = version

    async def handle(self, request: JsonObject, reply: ReplyStream) -> None:
        op = request.get("op")
        match op:
            case "ping":
                await reply.send(
                    {
                        "ok": True,
                        "pid": os.getpid(),
                        "started_at": self.started_at.isoformat(),
                        "version": self.version,
                    }
                )
            case "status":
                await reply.send({"ok": True, **self.daemon.status()})
            case "runs.stop":
                run_id = _text(request, "run_id")
                await reply.send({"ok": True, "stopped": self.daemon.stop_run(run_id)})
            case "chat":
                await self._chat(request, reply)
            case "cron.wake":
                if self.daemon.on_cron_change is not None:
                    self.daemon.on_cron_change()
                await reply.send({"ok": True})
            case _:
                raise UsageError(f"unknown control op {op!r}")

    async def _chat(self, request: JsonObject, reply: ReplyStream) -> None:
        daemon = self.daemon
        if daemon.closing:
            raise UsageError("the daemon is shutting down")
        external_id = _text(request, "id")
        text = _text(request, "text")
        if not text.strip():
            raise UsageError("the message is empty")
        agent = request.get("agent")
        session_ref = request.get("session")
        runtime = daemon.runtime
        if isinstance(session_ref, str):
            session = await runtime.services.sessions.get_session(session_ref)
        else:
            hot = await runtime.agent(agent if isinstance(agent, str) else None)
            session = await runtime.services.sessions.create_session(
                agent=hot.profile.name, channel=CLI_CHANNEL, title="pyclaw chat"
            )
        await reply.send({"event": "session", "session_id": session.id})

        async def present(approval: ApprovalRequest) -> None:
            await reply.send({"event": "approval", "request": approval.model_dump(mode="json")})

        watch = Watch(observer=_Forward(reply), present=present)
        daemon.watches[external_id] = watch
        answers = asyncio.create_task(self._answers(reply))
        try:
            event = ControlEvent(
                channel=CLI_CHANNEL,
                external_id=external_id,
                chat_id=session.id,
                user_id=_user(),
                text=text,
            )
            item = await daemon.submit(
                event, queue=f"{CLI_CHANNEL}:{session.id}", session_id=session.id
            )
            if item is None:
                raise UsageError(f"message {external_id} was already submitted")
            _, result = await watch.done
        finally:
            answers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await answers
            daemon.watches.pop(external_id, None)
        done: dict[str, JsonValue] = {"event": "done", "session_id": session.id}
        done["result"] = None if result is None else result.model_dump(mode="json")
        await reply.send(done)

    async def _answers(self, reply: ReplyStream) -> None:
        """Approval answers the client sends while its turn runs."""
        approvals = self.daemon.runtime.approvals
        while True:
            try:
                message = await reply.receive()
            except ControlProtocolError as exc:
                await reply.send({"event": "error", "message": str(exc)})
                continue
            if message is None:
                return
            if message.get("op") != "approve":
                continue
            try:
                window = message.get("window_seconds")
                await approvals.resolve_from_cli(
                    _text(message, "request_id"),
                    Verdict(str(message.get("verdict"))),
                    scope=GrantScope(str(message.get("scope") or "once")),
                    window_seconds=float(window) if isinstance(window, int | float) else None,
                    decided_by="terminal",
                )
            except Exception as exc:  # noqa: BLE001 - a bad answer is reported, the turn goes on
                log.info("approval answer refused: %s", exc)
                await reply.send({"event": "error", "message": str(exc)})


def _text(request: JsonObject, key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"the request needs a non-empty string {key!r}")
    return value


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
