"""``SQLitePolicyEngine``: rules, grants and recorded decisions over a ``pyclaw.storage.Database``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    Grant,
    PolicyDecision,
    ToolCall,
    ToolContext,
    ToolSpec,
    Verdict,
    utcnow,
)
from pyclaw.policy import _rows
from pyclaw.policy._config import PolicyConfig
from pyclaw.policy._errors import GrantNotFoundError
from pyclaw.policy._grants import describe_grant, validate_grant
from pyclaw.policy._index import GrantIndex
from pyclaw.policy._record import Change, record_decision
from pyclaw.policy._rules import RuleSet
from pyclaw.policy._schema import POLICY_MIGRATIONS
from pyclaw.policy._watch import GrantsWatcher
from pyclaw.storage import Database

Clock = Callable[[], datetime]

FRESH_RULE = "fresh_approval_after_untrusted"
"""The ``rule`` of an ``ask`` forced by untrusted content (``ToolContext.tainted``)."""


class SQLitePolicyEngine:
    """The policy engine (implements ``pyclaw.meta.PolicyEngine``) with grants kept in SQLite.

    ``check`` evaluates, in this order, and the first step that answers wins:

    1. **deny rules** (config order, first match) → ``deny``. Nothing overrides a deny rule.
    2. **untrusted content**: when ``context.tainted`` and the tool matches
       ``fresh_approval_after_untrusted`` → ``ask``, unless an allow-once grant approved this exact
       call in this session (it is consumed). No other grant and no allow rule skips this step.
    3. **grants**: an allow-once grant for this exact call and session (consumed atomically: a
       second identical call needs a new approval), else a live window, session or forever grant
       for this agent and tool (and session, argument pattern or call hash when it has them)
       → ``allow`` with ``grant_id``.
    4. **ask rules** → ``ask``.   5. **allow rules** → ``allow``.
    6. ``default_by_risk[spec.risk]``.

    Every decision has a human-readable ``reason``, the ``rule`` label or ``grant_id`` behind it
    and the call's ``call_hash``. Grants live in memory indexed by (agent, tool, session) and by
    call hash; the database stays the source of truth: a change made by another process (a
    counter bumped by triggers) is noticed before the next check and the index re-loaded.
    Expiry uses the injected ``clock``: a grant is inactive from its ``expires_at`` on.
    """

    def __init__(
        self, db: Database, config: PolicyConfig | None = None, *, clock: Clock = utcnow
    ) -> None:
        db.ensure(POLICY_MIGRATIONS)
        self.db = db
        self.config = config if config is not None else PolicyConfig()
        self.clock = clock
        self._rules = RuleSet(self.config)
        self._watch = GrantsWatcher(db)
        self._index = GrantIndex()
        self._version = -1  # nothing loaded yet

    # -- checking -------------------------------------------------------------------------------

    async def check(self, call: ToolCall, spec: ToolSpec, context: ToolContext) -> PolicyDecision:
        """Decide whether ``call`` may run now (see the class docstring for the order)."""
        if self._version < 0 or self._watch.stale(self._version):
            await self._reload()
        now = self.clock()
        if self._index.next_expiry is not None and now >= self._index.next_expiry:
            self._index.prune(now)
        tool, agent, args = call.name, context.agent, call.arguments
        call_hash = call.call_hash

        def decide(verdict: Verdict, reason: str, **extra: object) -> PolicyDecision:
            return PolicyDecision.model_validate(
                {
                    "verdict": verdict,
                    "reason": reason,
                    "tool": tool,
                    "call_hash": call_hash,
                    **extra,
                }
            )

        deny = self._rules.first(Verdict.DENY, tool, agent, args)
        if deny is not None:
            return decide(Verdict.DENY, f"{tool} denied by {deny.describe()}", rule=deny.label)
        once = await self._take_once(agent, tool, context.session_id, call_hash, now)
        if once is not None:
            return decide(
                Verdict.ALLOW,
                f"{tool} allowed once: this exact call was approved (grant {once.id}, now used)",
                grant_id=once.id,
            )
        if context.tainted and self._rules.needs_fresh_approval(tool):
            return decide(
                Verdict.ASK,
                f"{tool} needs a fresh approval of this exact call: untrusted content "
                "(a web page, file or HTTP body) entered this run, so existing grants and "
                "allow rules do not apply",
                rule=FRESH_RULE,
            )
        grant = self._index.find(
            agent=agent,
            tool=tool,
            session_id=context.session_id,
            call_hash=call_hash,
            arguments=args,
            now=now,
        )
        if grant is not None:
            return decide(
                Verdict.ALLOW,
                f"{tool} allowed by {describe_grant(grant)}",
                grant_id=grant.id,
                expires_at=grant.expires_at,
            )
        return self._rules.decide(call, spec, agent, call_hash)

    async def _take_once(
        self, agent: str, tool: str, session_id: str, call_hash: str, now: datetime
    ) -> Grant | None:
        """Find and atomically consume an allow-once grant for this exact call."""
        while True:
            grant = self._index.find_once(
                agent=agent, tool=tool, session_id=session_id, call_hash=call_hash, now=now
            )
            if grant is None:
                return None
            used, change = await self.db.run(self._use_sync, grant.id, now)
            self._index.remove(grant.id)  # used now, or already used or revoked elsewhere
            await self._apply(change)
            if used:
                return grant

    def _use_sync(self, grant_id: str, now: datetime) -> tuple[bool, Change]:
        with self.db.transaction() as conn:
            before = _rows.grants_version(conn)
            used = _rows.revoke_grant(conn, grant_id, now, used=True)
            return used, Change(before, _rows.grants_version(conn))

    # -- the in-memory index --------------------------------------------------------------------

    async def _reload(self) -> None:
        version, grants = await self.db.run(self._load_sync)
        if version >= self._version:
            self._index = GrantIndex(grants)
            self._version = version

    def _load_sync(self) -> tuple[int, list[Grant]]:
        with self.db.locked() as conn:
            return _rows.load_live_grants(conn, self.clock())

    async def _apply(self, change: Change, *, add: Grant | None = None, remove: str = "") -> None:
        """Bring the index up to date after one of our own writes."""
        if change.after <= self._version:
            return  # a re-load already saw it
        if change.before != self._version:
            await self._reload()  # someone else wrote in between
            return
        if remove:
            self._index.remove(remove)
        if add is not None:
            self._index.add(add)
        self._version = change.after

    # -- approvals and grants -------------------------------------------------------------------

    def make_request(
        self, call: ToolCall, context: ToolContext, decision: PolicyDecision
    ) -> ApprovalRequest:
        """The ``ApprovalRequest`` for an ``ask`` decision, expiring after ``approval_timeout_s``."""
        now = self.clock()
        return ApprovalRequest(
            session_id=context.session_id,
            run_id=context.run_id,
            agent=context.agent,
            call=call,
            reason=decision.reason,
            created_at=now,
            expires_at=now + timedelta(seconds=self.config.approval_timeout_s),
        )

    async def decide(
        self,
        request: ApprovalRequest,
        decision: ApprovalDecision,
        *,
        argument_pattern: str | None = None,
    ) -> Grant | None:
        """Record a human's decision on ``request``; returns the grant an ``allow`` created.

        Raises ``ApprovalMismatchError`` when the decision is for another request or another call
        (call hash), ``ApprovalStateError`` when the request was already decided here, was
        answered differently, or expired before an ``allow`` came. A ``deny`` creates no grant.
        ``argument_pattern`` (see ``encode_argument_pattern``) narrows a window, session or
        forever grant to matching arguments.
        """
        now = self.clock()
        grant, change = await self.db.run(
            lambda: record_decision(
                self.db, self.config, request, decision, now=now, argument_pattern=argument_pattern
            )
        )
        if grant is not None:
            await self._apply(change, add=grant)
        return grant

    async def add_grant(self, grant: Grant) -> Grant:
        """Store a hand-made grant (``pyclaw grants add``, tests); raises ``InvalidGrantError``."""
        validate_grant(grant)
        change = await self.db.run(self._insert_sync, grant)
        if grant.active(self.clock()):
            await self._apply(change, add=grant)
        return grant

    def _insert_sync(self, grant: Grant) -> Change:
        with self.db.transaction() as conn:
            before = _rows.grants_version(conn)
            _rows.insert_grant(conn, grant)
            return Change(before, _rows.grants_version(conn))

    async def list_grants(self, *, include_inactive: bool = False) -> list[Grant]:
        """Grants oldest first: live ones only, or every one with ``include_inactive``."""
        grants = await self.db.run(self._list_sync)
        if include_inactive:
            return grants
        now = self.clock()
        return [g for g in grants if g.active(now)]

    def _list_sync(self) -> list[Grant]:
        with self.db.locked() as conn:
            return _rows.list_grants(conn)

    async def revoke(self, grant_id: str) -> Grant:
        """Revoke a grant now (a grant already revoked is returned unchanged).

        Raises ``GrantNotFoundError`` for an unknown id.
        """
        grant, change = await self.db.run(self._revoke_sync, grant_id, self.clock())
        await self._apply(change, remove=grant_id)
        return grant

    def _revoke_sync(self, grant_id: str, now: datetime) -> tuple[Grant, Change]:
        with self.db.transaction() as conn:
            before = _rows.grants_version(conn)
            _rows.revoke_grant(conn, grant_id, now, used=False)
            grant = _rows.get_grant(conn, grant_id)
            if grant is None:
                raise GrantNotFoundError(
                    f"no grant with id {grant_id!r}", hint="see `pyclaw grants list`"
                )
            return grant, Change(before, _rows.grants_version(conn))

    def close(self) -> None:
        """Release the engine's read-only probe connection (the ``Database`` stays open)."""
        self._watch.close()
