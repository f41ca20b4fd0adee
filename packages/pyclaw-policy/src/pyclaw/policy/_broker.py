"""``ApprovalBroker``: asks a human (through a channel or the CLI) and waits for the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    GrantScope,
    UsageError,
    Verdict,
    format_ts,
    utcnow,
)
from pyclaw.policy import _rows
from pyclaw.policy._errors import (
    ApprovalMismatchError,
    ApprovalNotFoundError,
    ApprovalStateError,
)
from pyclaw.policy._record import check_binding, expired, status_for
from pyclaw.policy._schema import POLICY_MIGRATIONS
from pyclaw.storage import Database

Present = Callable[[ApprovalRequest], Awaitable[None]]
"""Shows a request to a human (Telegram buttons, a terminal prompt)."""

TIMEOUT = "timeout"
"""``decided_by`` of the deny a request gets when nobody answered before it expired."""


class ApprovalBroker:
    """Implements ``pyclaw.meta.Approver`` over the ``approvals`` table.

    ``request_approval`` stores the request (``expires_at`` defaults to ``timeout_s`` from now),
    calls ``present`` and waits for an answer arriving in-process (``resolve``) or from another
    process that wrote the table (``resolve_from_cli``; polled every ``poll_interval`` seconds).
    Unanswered at ``expires_at`` (by ``clock``), the request is recorded ``expired`` and a deny
    decided by ``"timeout"`` comes back: it never raises for that. Every decision returned carries
    the request's call hash.
    """

    def __init__(
        self,
        db: Database,
        *,
        present: Present | None = None,
        clock: Callable[[], datetime] = utcnow,
        timeout_s: float = 1800.0,
        poll_interval: float = 0.2,
    ) -> None:
        if timeout_s <= 0 or poll_interval <= 0:
            raise UsageError("timeout_s and poll_interval must be positive")
        db.ensure(POLICY_MIGRATIONS)
        self.db = db
        self.present = present
        self.clock = clock
        self.timeout_s = timeout_s
        self.poll_interval = poll_interval
        self._waiting: dict[str, asyncio.Future[ApprovalDecision]] = {}

    async def request_approval(self, request: ApprovalRequest) -> ApprovalDecision:
        """Ask, wait, and return the human's decision (a deny when it expires unanswered)."""
        if request.expires_at is None:
            deadline = self.clock() + timedelta(seconds=self.timeout_s)
            request = request.model_copy(update={"expires_at": deadline})
        future: asyncio.Future[ApprovalDecision] = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = future
        try:
            request = await self.db.run(self._insert_sync, request)
            if self.present is not None:
                try:
                    await self.present(request)
                except Exception as exc:  # noqa: BLE001 - a channel failure becomes a recorded deny
                    failed = self._deny(
                        request, f"error: cannot present the request: {exc!r}"[:200]
                    )
                    return (
                        failed
                        if await self._settle(request, failed)
                        else await self._wait(request, future)
                    )
            return await self._wait(request, future)
        except asyncio.CancelledError:
            await asyncio.shield(self._settle(request, self._deny(request, "cancelled")))
            raise
        finally:
            self._waiting.pop(request.id, None)

    def _insert_sync(self, request: ApprovalRequest) -> ApprovalRequest:
        """Store a new request; asking again with a stored one (after a restart) waits for it."""
        with self.db.transaction() as conn:
            row = _rows.get_approval(conn, request.id)
            if row is None:
                _rows.insert_approval(conn, request)
                return request
            if row.request.call_hash != request.call_hash:
                raise ApprovalMismatchError(
                    f"approval request {request.id} is already stored for a different call"
                )
            if row.request.expires_at is None:
                return row.request.model_copy(update={"expires_at": request.expires_at})
            return row.request

    async def _wait(
        self, request: ApprovalRequest, future: asyncio.Future[ApprovalDecision]
    ) -> ApprovalDecision:
        assert request.expires_at is not None
        while True:
            if future.done():
                return future.result()
            row = await self.db.run(self._get_sync, request.id)
            if row is not None and row.decision is not None:
                return row.decision  # answered (or expired) from another process
            remaining = (request.expires_at - self.clock()).total_seconds()
            if remaining <= 0:
                timeout = self._deny(request, TIMEOUT)
                if await self._settle(request, timeout):
                    return timeout
                continue  # an answer won the race: read it on the next pass
            done, _ = await asyncio.wait({future}, timeout=min(self.poll_interval, remaining))
            if done:
                return future.result()

    def _deny(self, request: ApprovalRequest, by: str) -> ApprovalDecision:
        return ApprovalDecision(
            request_id=request.id,
            call_hash=request.call_hash,
            verdict=Verdict.DENY,
            decided_by=by,
            decided_at=self.clock(),
        )

    async def _settle(self, request: ApprovalRequest, decision: ApprovalDecision) -> bool:
        status = "expired" if decision.decided_by in (TIMEOUT, "cancelled") else "denied"
        return await self.db.run(self._settle_sync, request.id, status, decision)

    def _settle_sync(
        self, request_id: str, status: _rows.ApprovalStatus, decision: ApprovalDecision
    ) -> bool:
        with self.db.transaction() as conn:
            return _rows.settle_approval(conn, request_id, status, decision)

    def _get_sync(self, request_id: str) -> _rows.ApprovalRow | None:
        with self.db.locked() as conn:
            return _rows.get_approval(conn, request_id)

    async def resolve(self, request_id: str, decision: ApprovalDecision) -> ApprovalDecision:
        """Answer a pending request in-process (a Telegram button, a terminal prompt).

        Raises ``ApprovalNotFoundError`` for an unknown id, ``ApprovalMismatchError`` when the
        decision is for another call, ``ApprovalStateError`` when the request is no longer
        pending or has expired.
        """
        row = await self.db.run(self._get_sync, request_id)
        if row is None:
            raise ApprovalNotFoundError(
                f"no approval request {request_id!r}", hint="see `pyclaw approvals list`"
            )
        check_binding(row.request, decision)
        await self.db.run(self._answer_sync, row.request, decision)
        future = self._waiting.get(request_id)
        if future is not None and not future.done():
            future.set_result(decision)
        return decision

    def _answer_sync(self, request: ApprovalRequest, decision: ApprovalDecision) -> None:
        with self.db.transaction() as conn:
            now = self.clock()
            if expired(request, now):
                assert request.expires_at is not None
                raise ApprovalStateError(
                    f"approval request {request.id} expired at {format_ts(request.expires_at)}"
                )
            if not _rows.settle_approval(conn, request.id, status_for(decision), decision):
                row = _rows.get_approval(conn, request.id)
                status = "answered" if row is None else row.status
                raise ApprovalStateError(f"approval request {request.id} is already {status}")

    async def resolve_from_cli(
        self,
        request_id: str,
        verdict: Verdict,
        *,
        scope: GrantScope = GrantScope.ONCE,
        window_seconds: float | None = None,
        decided_by: str = "cli",
    ) -> ApprovalDecision:
        """Answer a pending request by id (``pyclaw approvals approve|deny ID``), maybe from
        another process: the waiting broker picks the answer up from the table."""
        row = await self.db.run(self._get_sync, request_id)
        if row is None:
            raise ApprovalNotFoundError(
                f"no approval request {request_id!r}", hint="see `pyclaw approvals list`"
            )
        decision = ApprovalDecision(
            request_id=request_id,
            call_hash=row.request.call_hash,
            verdict=verdict,
            scope=scope,
            window_seconds=window_seconds,
            decided_by=decided_by,
            decided_at=self.clock(),
        )
        return await self.resolve(request_id, decision)

    async def pending(self) -> list[ApprovalRequest]:
        """Requests still waiting for an answer and not yet expired, oldest first."""
        rows = await self.db.run(self._pending_sync)
        now = self.clock()
        return [row.request for row in rows if not expired(row.request, now)]

    def _pending_sync(self) -> list[_rows.ApprovalRow]:
        with self.db.locked() as conn:
            return _rows.list_approvals(conn, "pending")
