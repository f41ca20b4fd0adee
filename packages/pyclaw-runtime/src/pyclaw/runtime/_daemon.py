"""``Daemon``: channels in, one queue per chat, agent turns under a concurrency bound, replies out.

Every inbound item (a Telegram update, a ``pyclaw chat`` message through the control socket) is
recorded in the inbox (``_inbox``) before anything else, keyed by its external id, and handed to
its chat's queue. A chat's items run one after another; chats run in parallel, at most
``max_concurrency`` turns at once. Each item goes queued → running (run id stored first) →
answered (reply stored) → done (reply accepted by the channel, with an idempotency key), so a
``kill -9`` anywhere resumes at the right step: see ``_daemon_turns``. An item that has crashed
the process ``max_attempts`` times is dead-lettered and its chat parked; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from pydantic import JsonValue

from pyclaw.brain import RunObserver
from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    Channel,
    ControlEvent,
    GrantScope,
    OutboundMessage,
    PyClawError,
    RunResult,
    RunStatus,
    Verdict,
    utcnow,
)
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._daemon_turns import (
    PARKED_NOTICE,
    PARKED_REPLY,
    plan_turn,
    reply_text,
)
from pyclaw.runtime._inbox import DaemonInbox, InboxItem

log = logging.getLogger("pyclaw.daemon")

CLI_CHANNEL = "cli"
ACK_REACTION = "👀"


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """``[daemon]`` knobs (seconds for times)."""

    max_concurrency: int = 8
    max_attempts: int = 3
    shutdown_grace: float = 20.0
    retry_backoff: float = 1.0
    feedback_delay: float = 0.3
    """A turn still running after this long gets 👀 on its message and "typing…"."""


@dataclass
class Watch:
    """A client following one item (``pyclaw chat`` through the socket)."""

    observer: RunObserver | None = None
    present: Callable[[ApprovalRequest], Awaitable[None]] | None = None
    done: asyncio.Future[tuple[str, RunResult | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class RunningTurn:
    """A turn in progress: what ``runs.stop``, ``/stop`` and ``status`` see."""

    run_id: str
    item: InboxItem
    session_id: str
    task: asyncio.Task[RunResult]
    started_at: datetime
    stop_requested: bool = False


class Daemon:
    """The daemon's message handling over an open ``AgentRuntime`` (see the module docstring)."""

    def __init__(
        self,
        runtime: AgentRuntime,
        *,
        settings: DaemonSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.settings = settings or DaemonSettings()
        self.clock = clock
        self.db = runtime.services.db
        self.sessions = runtime.services.sessions
        self.inbox = DaemonInbox(self.db)
        self.channels: dict[str, Channel] = {}
        self.watches: dict[str, Watch] = {}
        self.running: dict[str, RunningTurn] = {}
        self._routes: dict[str, InboxItem] = {}  # session id -> the item running in it
        self._queues: dict[str, deque[InboxItem]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        self._background: set[asyncio.Task[object]] = set()
        self.closing = False
        self.on_cron_change: Callable[[], None] | None = None
        """Wakes the cron scheduler (a job was added or changed from another process)."""

    # -- intake ----------------------------------------------------------------------------------

    async def recover(self) -> int:
        """After a start: close runs a dead process left open and re-queue unfinished items."""
        interrupted = await self.sessions.mark_interrupted()
        items = await self.db.run(self.inbox.unfinished)
        for item in items:
            self._enqueue(item)
        if interrupted or items:
            log.info(
                "recovered after a restart",
                extra={"interrupted_runs": len(interrupted), "unfinished_items": len(items)},
            )
        return len(items)

    async def sink(self, event: ControlEvent) -> None:
        """The ``ControlSink`` given to channels: record, then queue (returns promptly).

        While the daemon drains for a shutdown, it takes nothing new: the call waits until the
        channel stops (cancelling it), so the channel keeps the update for the next start.
        """
        if self.closing:
            await asyncio.Event().wait()
        if event.kind == "callback":
            await self._on_button(event)
            return
        if event.kind == "reaction":
            log.debug("reaction %s in %s:%s", event.text, event.channel, event.chat_id)
            return
        if event.kind == "command" and event.text in ("stop", "status"):
            await self._immediate_command(event)
            return
        await self.submit(event, queue=f"{event.channel}:{event.chat_id}")

    async def submit(
        self, event: ControlEvent, *, queue: str, session_id: str | None = None
    ) -> InboxItem | None:
        """Record ``event`` once and queue it; ``None`` when its external id was seen before."""
        accept = partial(self.inbox.accept, event, queue, self.clock(), session_id=session_id)
        item = await self.db.run(accept)
        if item is not None:
            self._enqueue(item)
        return item

    def _enqueue(self, item: InboxItem) -> None:
        self._queues.setdefault(item.queue, deque()).append(item)
        if item.queue not in self._workers:
            task = asyncio.create_task(self._work(item.queue), name=f"queue:{item.queue}")
            self._workers[item.queue] = task

    async def _work(self, key: str) -> None:
        try:
            while queue := self._queues.get(key):
                async with self._slots:
                    await self._handle(queue[0])
                queue.popleft()
        finally:
            self._workers.pop(key, None)
            if not self._queues.get(key):
                self._queues.pop(key, None)

    # -- one item --------------------------------------------------------------------------------

    async def _handle(self, item: InboxItem) -> None:
        """Take ``item`` to ``done`` (or ``dead``), retrying failures of the plumbing."""
        failures = 0
        while True:
            current = await self.db.run(self.inbox.get, item.id)
            if current.status in ("done", "dead"):
                return
            try:
                await self._step(current)
                return
            except asyncio.CancelledError:
                if self.closing and current.status != "answered":
                    requeue = partial(self.inbox.requeue, item.id, self.clock(), refund=True)
                    await asyncio.shield(self.db.run(requeue))
                raise
            except Exception as exc:  # one item's failure must not stop the queue
                failures += 1
                log.exception("handling %s failed (%d)", item.external_id, failures)
                if failures >= self.settings.max_attempts:
                    await self._dead_letter(current, f"{type(exc).__name__}: {exc}")
                    return
                await asyncio.sleep(self.settings.retry_backoff * 2 ** (failures - 1))

    async def _step(self, item: InboxItem) -> None:
        if item.status == "answered" and item.reply is not None:
            await self._deliver(item, item.reply, None)
            return
        event = item.event
        if event.kind == "command":
            await self._queued_command(item)
            return
        if item.session_id is None:
            chat = await self.db.run(self.inbox.chat, event.channel, event.chat_id)
            if chat.parked_reason is not None:
                await self._finish(item, PARKED_NOTICE, None)
                return
        session_id = item.session_id or await self._chat_session(event)
        plan = await plan_turn(self.sessions, item)
        if plan.answer is not None:
            await self._finish(item, plan.answer, None)
            return
        assert plan.run_id is not None
        attempts = await self.db.run(
            self.inbox.start, item.id, session_id, plan.run_id, plan.resume_of, self.clock()
        )
        if attempts > self.settings.max_attempts:
            await self._dead_letter(item, f"it crashed the agent {attempts - 1} times")
            return
        result, stopped = await self._run(item, session_id, plan.run_id, plan.resume_of)
        await self._finish(item, reply_text(result, stopped=stopped), result)

    async def _run(
        self, item: InboxItem, session_id: str, run_id: str, resume_of: str | None
    ) -> tuple[RunResult, bool]:
        event = item.event
        session = await self.sessions.get_session(session_id)
        watch = self.watches.get(item.external_id)
        hot = await self.runtime.agent(session.agent)
        coro = self.runtime.run_turn(
            event.text or "",
            agent=hot.profile.name,
            session_id=session_id,
            channel=event.channel,
            origin=event,
            observer=watch.observer if watch is not None else None,
            run_id=run_id,
            resume_of=resume_of,
        )

        async def turn() -> RunResult:
            return (await coro)[1]

        task = asyncio.create_task(turn(), name=f"run:{run_id}")
        running = RunningTurn(run_id, item, session_id, task, self.clock())
        self.running[run_id] = running
        self._routes[session_id] = item
        try:
            async with self._feedback(event):
                try:
                    return await task, running.stop_requested
                except asyncio.CancelledError:
                    if not running.stop_requested or self.closing:
                        raise
                    # stopped on request: the brain recorded the run as cancelled
                    return RunResult(run_id=run_id, status=RunStatus.CANCELLED), True
        finally:
            self.running.pop(run_id, None)
            if self._routes.get(session_id) is item:
                del self._routes[session_id]

    @contextlib.asynccontextmanager
    async def _feedback(self, event: ControlEvent) -> AsyncGenerator[None]:
        """For a turn that takes longer than ``feedback_delay``: react 👀 to the message and
        show "typing…" until the reply (a fast turn's reply comes before either is needed)."""
        channel = self.channels.get(event.channel)
        typing = getattr(channel, "typing", None)
        if typing is None:
            yield
            return
        react = getattr(channel, "react", None)
        message_id = event.data.get("message_id")

        async def show() -> None:
            await asyncio.sleep(self.settings.feedback_delay)
            if react is not None and isinstance(message_id, int):
                try:
                    await react(event.chat_id, message_id, ACK_REACTION)
                except Exception as exc:  # noqa: BLE001 - a missing reaction is cosmetic
                    log.debug("could not react to %s: %s", event.external_id, exc)
            async with typing(event.chat_id):
                await asyncio.Event().wait()

        shown = asyncio.create_task(show())
        try:
            yield
        finally:
            shown.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await shown

    async def _finish(self, item: InboxItem, text: str, result: RunResult | None) -> None:
        await self.db.run(self.inbox.answered, item.id, text, self.clock())
        await self._deliver(item, text, result)

    async def _deliver(self, item: InboxItem, text: str, result: RunResult | None) -> None:
        """Send the stored reply (idempotently) and close the item."""
        event = item.event
        channel = self.channels.get(event.channel)
        if channel is None and event.channel != CLI_CHANNEL:
            raise RuntimeError(f"channel {event.channel!r} is not running: cannot send the reply")
        if channel is not None:
            reply_to = event.data.get("message_id")
            await channel.send(
                OutboundMessage(
                    channel=event.channel,
                    chat_id=event.chat_id,
                    text=text,
                    idempotency_key=f"reply:{event.external_id}",
                    reply_to=None if reply_to is None else str(reply_to),
                )
            )
        await self.db.run(self.inbox.done, item.id, self.clock())
        watch = self.watches.get(item.external_id)
        if watch is not None and not watch.done.done():
            watch.done.set_result((text, result))

    async def _dead_letter(self, item: InboxItem, why: str) -> None:
        event = item.event
        log.error("dead-lettered %s (%s); chat %s parked", event.external_id, why, event.chat_id)
        await self.db.run(self.inbox.dead, item.id, why, self.clock())
        if event.channel != CLI_CHANNEL:
            await self.db.run(self.inbox.park, event.channel, event.chat_id, why, self.clock())
        notice = PARKED_REPLY.format(attempts=self.settings.max_attempts)
        with contextlib.suppress(Exception):
            channel = self.channels.get(event.channel)
            if channel is not None:
                await channel.send(
                    OutboundMessage(
                        channel=event.channel,
                        chat_id=event.chat_id,
                        text=notice,
                        idempotency_key=f"dead:{event.external_id}",
                    )
                )
        watch = self.watches.get(item.external_id)
        if watch is not None and not watch.done.done():
            watch.done.set_result((notice, None))

    async def _chat_session(self, event: ControlEvent) -> str:
        chat = await self.db.run(self.inbox.chat, event.channel, event.chat_id)
        if chat.session_id is not None:
            return chat.session_id
        return await self._new_session(event)

    async def _new_session(self, event: ControlEvent) -> str:
        hot = await self.runtime.agent(None)
        session = await self.sessions.create_session(
            agent=hot.profile.name, channel=event.channel, title=_title(event)
        )
        await self.db.run(
            self.inbox.set_session, event.channel, event.chat_id, session.id, self.clock()
        )
        return session.id

    # -- commands and buttons ------------------------------------------------------------------------

    async def _queued_command(self, item: InboxItem) -> None:
        if item.event.text == "new":
            session_id = await self._new_session(item.event)
            await self._finish(item, f"🆕 New session started ({session_id}).", None)
        else:
            await self._finish(item, f"Unknown command /{item.event.text}.", None)

    async def _immediate_command(self, event: ControlEvent) -> None:
        """``/stop`` and ``/status`` act at once, ahead of the chat's queue."""
        if event.text == "stop":
            stopped = self.stop_chat(event.channel, event.chat_id)
            text = "⏹ Stopping the current turn." if stopped else "Nothing is running."
        else:
            text = await self._chat_status(event)
        channel = self.channels.get(event.channel)
        if channel is not None:
            await channel.send(
                OutboundMessage(
                    channel=event.channel,
                    chat_id=event.chat_id,
                    text=text,
                    idempotency_key=f"reply:{event.external_id}",
                )
            )

    async def _chat_status(self, event: ControlEvent) -> str:
        chat = await self.db.run(self.inbox.chat, event.channel, event.chat_id)
        queued = len(self._queues.get(f"{event.channel}:{event.chat_id}", ()))
        busy = [r for r in self.running.values() if r.item.event.chat_id == event.chat_id]
        lines = [f"Session: {chat.session_id or '(none yet)'}"]
        if chat.session_id is not None:
            session = await self.sessions.get_session(chat.session_id)
            lines.append(f"Agent: {session.agent} · {session.event_count} events")
        lines.append(f"Running: {busy[0].run_id}" if busy else "Running: nothing")
        lines.append(f"Queued: {max(0, queued - len(busy))}")
        if chat.parked_reason is not None:
            lines.append(f"Parked: {chat.parked_reason} (/new to reset)")
        return "\n".join(lines)

    def stop_chat(self, channel: str, chat_id: str) -> bool:
        """Stop the turn running in a chat; whether there was one."""
        for running in list(self.running.values()):
            event = running.item.event
            if event.channel == channel and event.chat_id == chat_id:
                return self.stop_run(running.run_id)
        return False

    def stop_run(self, run_id: str) -> bool:
        """Cancel a running turn (it is recorded ``cancelled`` at once); whether it was running."""
        running = self.running.get(run_id)
        if running is None or running.task.done():
            return False
        running.stop_requested = True
        running.task.cancel()
        return True

    async def _on_button(self, event: ControlEvent) -> None:
        data = event.data
        request_id = data.get("request_id")
        if not isinstance(request_id, str):
            log.info("a button press without an approval request: %s", data.get("data"))
            return
        verdict = Verdict(str(data.get("verdict")))
        window = data.get("window_seconds")
        decision = ApprovalDecision(
            request_id=request_id,
            call_hash=str(data.get("call_hash")),
            verdict=verdict,
            scope=GrantScope(str(data.get("scope", "once"))),
            window_seconds=float(window) if isinstance(window, int | float) else None,
            decided_by=str(data.get("decided_by") or f"{event.channel}:{event.user_id}"),
            decided_at=self.clock(),
        )
        try:
            await self.runtime.approvals.resolve(request_id, decision)
            outcome = _outcome_label(decision)
        except PyClawError as exc:
            log.info("approval %s not applied: %s", request_id, exc)
            outcome = "Not applied: " + exc.message
        resolved = getattr(self.channels.get(event.channel), "approval_resolved", None)
        if resolved is not None:
            await resolved(request_id, outcome)

    async def present(self, request: ApprovalRequest) -> None:
        """The approval presenter: ask in the chat the run came from."""
        item = self._routes.get(request.session_id)
        if item is None:
            log.warning(
                "approval %s waits for `pyclaw approvals approve %s`", request.id, request.id
            )
            return
        watch = self.watches.get(item.external_id)
        if watch is not None and watch.present is not None:
            await watch.present(request)
            return
        channel = self.channels.get(item.event.channel)
        if channel is None:
            return
        await channel.request_approval(request, item.event.chat_id)
        resolved = getattr(channel, "approval_resolved", None)
        if resolved is not None and request.expires_at is not None:
            self._spawn(self._expire_later(request, resolved))

    async def _expire_later(
        self, request: ApprovalRequest, resolved: Callable[[str, str], Awaitable[bool]]
    ) -> None:
        assert request.expires_at is not None
        delay = (request.expires_at - self.clock()).total_seconds()
        await asyncio.sleep(max(0.0, delay) + 0.5)
        await resolved(request.id, "⌛ Expired: not run")

    def _spawn(self, coro: Awaitable[object]) -> None:
        async def wrapped() -> object:
            return await coro

        task: asyncio.Task[object] = asyncio.create_task(wrapped())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- status and shutdown -----------------------------------------------------------------------

    def status(self) -> dict[str, JsonValue]:
        """What ``pyclaw`` clients see of the daemon's work right now."""
        runs: list[JsonValue] = [
            {
                "run_id": r.run_id,
                "session_id": r.session_id,
                "chat": f"{r.item.event.channel}:{r.item.event.chat_id}",
                "started_at": r.started_at.isoformat(),
            }
            for r in self.running.values()
        ]
        queues: dict[str, JsonValue] = {k: len(q) for k, q in self._queues.items()}
        return {"runs": runs, "queues": queues, "channels": list(self.channels)}

    async def drain(self, grace: float | None = None) -> None:
        """Graceful stop: let running turns finish for ``grace`` seconds, then cancel the rest
        (they go back to the queue and resume at the next start)."""
        self.closing = True
        workers = list(self._workers.values())
        if workers:
            timeout = self.settings.shutdown_grace if grace is None else grace
            _, pending = await asyncio.wait(workers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def idle(self) -> bool:
        return not self._workers


def _title(event: ControlEvent) -> str:
    name = event.data.get("name")
    return (
        f"{event.channel} {name}" if isinstance(name, str) else f"{event.channel} {event.chat_id}"
    )


def _outcome_label(decision: ApprovalDecision) -> str:
    if decision.verdict is Verdict.DENY:
        return "❌ Denied"
    match decision.scope:
        case GrantScope.ONCE:
            return "✅ Allowed once"
        case GrantScope.WINDOW:
            minutes = round((decision.window_seconds or 0) / 60)
            return f"✅ Allowed for {minutes} min"
        case GrantScope.SESSION:
            return "✅ Allowed for this session"
        case _:
            return "✅ Always allowed"
