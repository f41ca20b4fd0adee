"""Appending a run's events: to the session log, to the history cache and to the observer."""

from __future__ import annotations

import asyncio
import logging

from pyclaw.brain._history import SessionHistory
from pyclaw.brain._settings import RunObserver
from pyclaw.meta import EventPayload, SessionEvent, SessionLog

_log = logging.getLogger("pyclaw.brain")


class Recorder:
    """Writes one run's events and keeps its session's in-memory history current.

    Events can be staged and written together with the next one (fewer writes per step); the
    brain flushes before anything slow or external happens (a model call, a tool, an approval).

    Every event of the run, including those the session log writes itself (``run_started`` from
    ``start_run``, ``run_finished`` from ``finish_run``), is shown to the observer exactly once.

    ``current`` says whether the history is known to end where the log ends: true after a read,
    and after an append whose events all directly followed the known history (nobody else wrote
    in between); false after one that left a gap. ``refresh`` reads only when it is false.
    """

    def __init__(
        self,
        *,
        sessions: SessionLog,
        session_id: str,
        run_id: str,
        history: SessionHistory,
        observer: RunObserver | None,
        observer_timeout_s: float,
    ) -> None:
        self.sessions = sessions
        self.session_id = session_id
        self.run_id = run_id
        self.history = history
        self._observer = observer
        self._timeout = observer_timeout_s
        self._told: set[str] = set()
        self._staged: list[EventPayload] = []
        self.current = False

    @property
    def observed(self) -> bool:
        return self._observer is not None

    def stage(self, *payloads: EventPayload) -> None:
        """Queue events to be appended with the next ``add`` or ``flush`` (one write for all)."""
        self._staged.extend(payloads)

    async def add(self, *payloads: EventPayload) -> None:
        """Append the staged events and ``payloads`` (atomically, in order) as this run's events."""
        batch = [*self._staged, *payloads]
        self._staged.clear()
        if not batch:
            return
        if len(batch) == 1:
            events = [await self.sessions.append(self.session_id, batch[0], run_id=self.run_id)]
        else:
            events = await self.sessions.append_many(self.session_id, batch, run_id=self.run_id)
        # Events that do not continue the known history (someone else wrote meanwhile) reach
        # the history, and the observer, with the next sync: the observer sees the log's order.
        added = self.history.extend(events)
        self.current = len(added) == len(events)
        for event in added:
            await self._tell(event)

    async def flush(self) -> None:
        """Append the staged events now."""
        await self.add()

    async def refresh(self) -> None:
        """``sync`` unless the history is known to be current (this run wrote last)."""
        if not self.current:
            await self.sync()

    async def sync(self) -> None:
        """Read the events appended since the last one in the history (by anyone)."""
        new = await self.sessions.read(self.session_id, after_seq=self.history.last_seq)
        self.current = True
        for event in self.history.extend(new):
            if event.run_id == self.run_id:
                await self._tell(event)

    async def text(self, delta: str) -> None:
        """Forward a streamed text delta to the observer."""
        if self._observer is None:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._observer.on_text(delta)
        except Exception:  # noqa: BLE001 - an observer must never break the run
            _log.warning("run observer failed on a text delta; ignored", exc_info=True)

    async def _tell(self, event: SessionEvent) -> None:
        if self._observer is None or event.id in self._told:
            return
        self._told.add(event.id)
        try:
            async with asyncio.timeout(self._timeout):
                await self._observer.on_event(event)
        except Exception:  # noqa: BLE001 - an observer must never break the run
            _log.warning("run observer failed on a %s event; ignored", event.kind, exc_info=True)
