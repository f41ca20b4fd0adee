"""The approval broker: in-process and cross-process answers, timeouts as deny, CLI errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    Approver,
    GrantScope,
    RiskLevel,
    ToolCall,
    ToolContext,
    ToolSpec,
    Verdict,
    format_ts,
)
from pyclaw.policy import (
    POLICY_MIGRATIONS,
    TIMEOUT,
    ApprovalBroker,
    ApprovalMismatchError,
    ApprovalNotFoundError,
    ApprovalStateError,
    SQLitePolicyEngine,
)
from pyclaw.storage import Database

MakeEngine = Callable[..., SQLitePolicyEngine]
EXEC = ToolSpec(name="exec", description="run", risk=RiskLevel.RISKY)
CTX = ToolContext(session_id="ses_a", agent="main")
DEPLOY = ToolCall(name="exec", arguments={"command": "make deploy"})


class Clock(Protocol):
    def advance(self, seconds: float) -> None: ...


class Shown:
    """A ``present`` callback that remembers what it showed."""

    def __init__(self) -> None:
        self.requests: list[ApprovalRequest] = []
        self.event = asyncio.Event()

    async def __call__(self, request: ApprovalRequest) -> None:
        self.requests.append(request)
        self.event.set()

    async def first(self) -> ApprovalRequest:
        await asyncio.wait_for(self.event.wait(), 5)
        return self.requests[0]


def request(**changes: object) -> ApprovalRequest:
    data: dict[str, object] = {
        "session_id": "ses_a",
        "agent": "main",
        "call": DEPLOY,
        "reason": "r",
    }
    return ApprovalRequest.model_validate({**data, **changes})


def rows(db: Database) -> list[tuple[str, str]]:
    with db.locked() as conn:
        return [(str(i), str(s)) for i, s in conn.execute("SELECT id, status FROM approvals")]


@pytest.fixture
def shown() -> Shown:
    return Shown()


@pytest.fixture
def broker(db: Database, clock: Callable[[], datetime], shown: Shown) -> ApprovalBroker:
    return ApprovalBroker(db, present=shown, clock=clock, timeout_s=60, poll_interval=0.01)


def test_broker_implements_the_contract(broker: ApprovalBroker) -> None:
    assert isinstance(broker, Approver)


async def test_answer_in_process(broker: ApprovalBroker, shown: Shown, db: Database) -> None:
    waiting = asyncio.create_task(broker.request_approval(request()))
    asked = await shown.first()
    assert asked.expires_at == broker.clock() + timedelta(seconds=60)  # timeout_s filled in
    assert [r.id for r in await broker.pending()] == [asked.id]
    decision = ApprovalDecision(
        request_id=asked.id,
        call_hash=asked.call_hash,
        verdict=Verdict.ALLOW,
        scope=GrantScope.SESSION,
        decided_by="telegram:42",
    )
    await broker.resolve(asked.id, decision)
    assert await asyncio.wait_for(waiting, 5) == decision
    assert rows(db) == [(asked.id, "approved")]
    assert await broker.pending() == []


async def test_unanswered_request_expires_as_deny(
    broker: ApprovalBroker, shown: Shown, clock: Clock, db: Database
) -> None:
    waiting = asyncio.create_task(broker.request_approval(request()))
    asked = await shown.first()
    clock.advance(59)
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.advance(1)
    decision = await asyncio.wait_for(waiting, 5)
    assert (decision.verdict, decision.decided_by) == (Verdict.DENY, TIMEOUT)
    assert (decision.request_id, decision.call_hash) == (asked.id, DEPLOY.call_hash)
    assert rows(db) == [(asked.id, "expired")]
    late = decision.model_copy(update={"verdict": Verdict.ALLOW, "decided_by": "alice"})
    with pytest.raises(ApprovalStateError, match="expired at"):
        await broker.resolve(asked.id, late)


async def test_timeout_then_the_engine_records_it_without_a_grant(
    broker: ApprovalBroker, make_engine: MakeEngine, clock: Clock
) -> None:
    engine = make_engine(approval_timeout_s=60)
    asked = await engine.check(DEPLOY, EXEC, CTX)
    req = engine.make_request(DEPLOY, CTX, asked)
    waiting = asyncio.create_task(broker.request_approval(req))
    await asyncio.sleep(0.02)
    clock.advance(60)
    decision = await asyncio.wait_for(waiting, 5)
    assert decision.verdict is Verdict.DENY
    assert await engine.decide(req, decision) is None
    assert (await engine.check(DEPLOY, EXEC, CTX)).verdict is Verdict.ASK


async def test_end_to_end_allow_once(
    broker: ApprovalBroker, shown: Shown, make_engine: MakeEngine
) -> None:
    engine = make_engine()
    asked = await engine.check(DEPLOY, EXEC, CTX)
    req = engine.make_request(DEPLOY, CTX, asked)
    waiting = asyncio.create_task(broker.request_approval(req))
    await shown.first()
    await broker.resolve_from_cli(req.id, Verdict.ALLOW, decided_by="cli:alice")
    decision = await asyncio.wait_for(waiting, 5)
    assert (decision.scope, decision.decided_by) == (GrantScope.ONCE, "cli:alice")
    grant = await engine.decide(req, decision)
    assert grant is not None
    assert (await engine.check(DEPLOY, EXEC, CTX)).grant_id == grant.id
    assert (await engine.check(DEPLOY, EXEC, CTX)).verdict is Verdict.ASK


@pytest.fixture
def two_dbs(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    path = tmp_path / "pyclaw.db"
    with (
        Database.open(path, migrations=[POLICY_MIGRATIONS]) as daemon,
        Database.open(path, migrations=[POLICY_MIGRATIONS]) as cli,
    ):
        yield daemon, cli


async def test_answer_from_another_process(two_dbs: tuple[Database, Database]) -> None:
    daemon_db, cli_db = two_dbs
    shown = Shown()
    daemon = ApprovalBroker(daemon_db, present=shown, poll_interval=0.02)
    cli = ApprovalBroker(cli_db)
    engine = SQLitePolicyEngine(daemon_db)
    asked = await engine.check(DEPLOY, EXEC, CTX)
    req = engine.make_request(DEPLOY, CTX, asked)
    waiting = asyncio.create_task(daemon.request_approval(req))
    await shown.first()
    assert [r.id for r in await cli.pending()] == [req.id]
    given = await cli.resolve_from_cli(
        req.id, Verdict.ALLOW, scope=GrantScope.WINDOW, window_seconds=120
    )
    decision = await asyncio.wait_for(waiting, 5)
    assert decision == given
    assert decision.call_hash == DEPLOY.call_hash
    grant = await engine.decide(req, decision)
    assert grant is not None
    assert grant.scope is GrantScope.WINDOW
    assert (await engine.check(DEPLOY, EXEC, CTX)).grant_id == grant.id
    engine.close()


async def test_cli_errors(broker: ApprovalBroker, shown: Shown, clock: Clock) -> None:
    with pytest.raises(ApprovalNotFoundError, match="no approval request 'apr_nope'"):
        await broker.resolve_from_cli("apr_nope", Verdict.ALLOW)
    waiting = asyncio.create_task(broker.request_approval(request()))
    asked = await shown.first()
    other = request()
    foreign = ApprovalDecision(
        request_id=asked.id,
        call_hash=ToolCall(name="exec", arguments={"command": "rm -rf /"}).call_hash,
        verdict=Verdict.ALLOW,
        decided_by="x",
    )
    with pytest.raises(ApprovalMismatchError, match="call hash mismatch"):
        await broker.resolve(asked.id, foreign)
    with pytest.raises(ApprovalMismatchError, match=f"answers request {other.id}"):
        await broker.resolve(
            asked.id,
            foreign.model_copy(update={"request_id": other.id, "call_hash": asked.call_hash}),
        )
    await broker.resolve_from_cli(asked.id, Verdict.DENY)
    assert (await asyncio.wait_for(waiting, 5)).verdict is Verdict.DENY
    with pytest.raises(ApprovalStateError, match="is already denied"):
        await broker.resolve_from_cli(asked.id, Verdict.ALLOW)


async def test_expired_requests_are_not_pending(broker: ApprovalBroker, db: Database) -> None:
    """A request left pending by a process that died is neither listed nor answerable."""
    now = broker.clock()
    stale = request(created_at=now - timedelta(hours=2), expires_at=now - timedelta(hours=1))
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO approvals (id, session_id, agent, call, call_hash, reason, status, "
            "created_at, expires_at) VALUES (?, 's', 'a', ?, ?, 'r', 'pending', ?, ?)",
            (
                stale.id,
                DEPLOY.model_dump_json(),
                DEPLOY.call_hash,
                format_ts(stale.created_at),
                format_ts(now - timedelta(hours=1)),
            ),
        )
    assert await broker.pending() == []
    with pytest.raises(ApprovalStateError, match="expired at"):
        await broker.resolve_from_cli(stale.id, Verdict.ALLOW)


async def test_presentation_failure_is_a_recorded_deny(db: Database) -> None:
    async def broken(request: ApprovalRequest) -> None:
        raise ConnectionError("telegram unreachable")

    broker = ApprovalBroker(db, present=broken, poll_interval=0.01)
    decision = await broker.request_approval(request())
    assert decision.verdict is Verdict.DENY
    assert "telegram unreachable" in decision.decided_by
    assert [s for _, s in rows(db)] == ["denied"]


async def test_cancelled_wait_expires_the_request(
    broker: ApprovalBroker, shown: Shown, db: Database
) -> None:
    waiting = asyncio.create_task(broker.request_approval(request()))
    asked = await shown.first()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert rows(db) == [(asked.id, "expired")]
    with pytest.raises(ApprovalStateError, match="already expired"):
        await broker.resolve_from_cli(asked.id, Verdict.ALLOW)


async def test_asking_again_after_an_answer_returns_it(
    broker: ApprovalBroker, shown: Shown
) -> None:
    """A restarted run that asks the same request again gets the recorded answer at once."""
    req = request()
    waiting = asyncio.create_task(broker.request_approval(req))
    await shown.first()
    given = await broker.resolve_from_cli(req.id, Verdict.ALLOW, scope=GrantScope.SESSION)
    assert await asyncio.wait_for(waiting, 5) == given
    assert await asyncio.wait_for(broker.request_approval(req), 5) == given
    swapped = req.model_copy(update={"call": ToolCall(name="exec", arguments={"command": "x"})})
    with pytest.raises(ApprovalMismatchError, match="already stored for a different call"):
        await broker.request_approval(swapped)
