"""``SessionLogContract``: the conformance suite every ``SessionLog`` backend must pass.

Subclass it in a test module (its name must start with ``Test``) and implement ``make_log`` and
``tamper``::

    class TestMyLog(SessionLogContract):
        async def make_log(self, tmp_path: Path) -> SessionLog:
            return MyLog(tmp_path / "log")

        async def tamper(self, log, session_id, seq, *, action, payload_text=""):
            ...  # edit or delete the stored event behind the API
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
import pytest_asyncio

from pyclaw.meta import (
    EVENT_KINDS,
    GENESIS_HASH,
    ErrorInfo,
    EventPayload,
    Message,
    NoteEvent,
    RunFinishedEvent,
    RunNotFoundError,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    SessionLog,
    SessionNotFoundError,
    Usage,
    UsageError,
    UserMessageEvent,
    payload_json,
)
from pyclaw.session._errors import RunExistsError, RunStateError, SessionExistsError
from pyclaw.session.testing._samples import sample_payloads

TamperAction = Literal["edit_payload", "delete"]


def notes(n: int, prefix: str = "note") -> list[EventPayload]:
    return [NoteEvent(text=f"{prefix} {i}") for i in range(n)]


def assert_linked(events: list[SessionEvent]) -> None:
    """``events`` start at seq 0 and each one's ``prev_hash`` is the previous one's ``hash``."""
    prev = GENESIS_HASH
    for i, event in enumerate(events):
        assert event.seq == i
        assert event.prev_hash == prev
        assert event.expected_hash() == event.hash
        prev = event.hash


@pytest.mark.asyncio
class SessionLogContract(ABC):
    """Behaviour every ``SessionLog`` implementation must have."""

    @abstractmethod
    async def make_log(self, tmp_path: Path) -> SessionLog:
        """A fresh, empty log (``tmp_path`` is a private directory for this test)."""

    async def close_log(self, log: SessionLog) -> None:
        """Release what ``make_log`` opened (nothing by default)."""
        return

    @abstractmethod
    async def tamper(
        self,
        log: SessionLog,
        session_id: str,
        seq: int,
        *,
        action: TamperAction,
        payload_text: str = "",
    ) -> None:
        """Behind the API: replace the stored payload text of event ``seq`` with ``payload_text``
        (``"edit_payload"``) or remove the event (``"delete"``)."""

    @pytest_asyncio.fixture
    async def log(self, tmp_path: Path) -> AsyncIterator[SessionLog]:
        made = await self.make_log(tmp_path)
        assert isinstance(made, SessionLog)
        try:
            yield made
        finally:
            await self.close_log(made)

    # -- sessions -------------------------------------------------------------------------------

    async def test_create_get_and_list_sessions(self, log: SessionLog) -> None:
        first = await log.create_session(
            agent="main",
            channel="telegram",
            title="Chat",
            external_key="telegram:42",
            metadata={"chat_id": 42, "tags": ["a", "b"], "extra": {"x": None}},
        )
        assert first.id.startswith("ses_")
        assert (first.agent, first.channel, first.title) == ("main", "telegram", "Chat")
        assert first.event_count == 0
        assert first.last_event_at is None
        got = await log.get_session(first.id)
        assert got == first
        second = await log.create_session(agent="helper", channel="cli", session_id="ses_fixed")
        assert second.id == "ses_fixed"
        third = await log.create_session(agent="main", channel="cli")
        assert [s.id for s in await log.list_sessions()] == [third.id, second.id, first.id]
        assert [s.id for s in await log.list_sessions(limit=2)] == [third.id, second.id]
        assert [s.id for s in await log.list_sessions(agent="main")] == [third.id, first.id]
        assert [s.id for s in await log.list_sessions(channel="cli")] == [third.id, second.id]
        assert [s.id for s in await log.list_sessions(agent="main", channel="cli")] == [third.id]

    async def test_duplicate_session_is_refused(self, log: SessionLog) -> None:
        await log.create_session(agent="a", channel="c", session_id="ses_1", external_key="k")
        with pytest.raises(SessionExistsError):
            await log.create_session(agent="a", channel="c", session_id="ses_1")
        with pytest.raises(SessionExistsError):
            await log.create_session(agent="a", channel="c", external_key="k")

    # -- appending and reading ------------------------------------------------------------------

    async def test_append_and_read_back(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        one = await log.append(session.id, UserMessageEvent(message=Message.user("hi")))
        more = await log.append_many(session.id, notes(2), run_id="run_1")
        assert one.seq == 0
        assert one.prev_hash == GENESIS_HASH
        assert [e.seq for e in more] == [1, 2]
        assert all(e.run_id == "run_1" for e in more)
        events = await log.read(session.id)
        assert events == [one, *more]
        assert_linked(events)
        info = await log.get_session(session.id)
        assert info.event_count == 3
        assert info.last_event_at == more[-1].ts
        assert [e.seq for e in await log.append_many(session.id, [])] == []
        assert len(await log.read(session.id)) == 3

    async def test_concurrent_appends_keep_each_session_contiguous(self, log: SessionLog) -> None:
        a = await log.create_session(agent="main", channel="cli")
        b = await log.create_session(agent="main", channel="cli")
        jobs = [
            log.append(sid, NoteEvent(text=f"{sid} {i}")) for i in range(60) for sid in (a.id, b.id)
        ]
        jobs += [log.append_many(a.id, notes(3, "batch")) for _ in range(5)]
        await asyncio.gather(*jobs)
        for sid, count in ((a.id, 75), (b.id, 60)):
            events = await log.read(sid)
            assert [e.seq for e in events] == list(range(count))
            assert all(e.session_id == sid for e in events)
            assert_linked(events)
            assert (await log.verify(sid)).ok

    async def test_read_after_seq_and_limit(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        await log.append_many(session.id, notes(10))

        async def seqs(**kwargs: int) -> list[int]:
            return [e.seq for e in await log.read(session.id, **kwargs)]

        assert await seqs() == list(range(10))
        assert await seqs(after_seq=4) == [5, 6, 7, 8, 9]
        assert await seqs(limit=3) == [0, 1, 2]
        assert await seqs(after_seq=4, limit=2) == [5, 6]
        assert await seqs(after_seq=9) == []
        assert await seqs(limit=0) == []
        with pytest.raises(UsageError):
            await log.read(session.id, limit=-1)

    async def test_tail(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        assert await log.tail(session.id, 5) == []
        await log.append_many(session.id, notes(10))
        last3 = await log.tail(session.id, 3)
        assert [e.seq for e in last3] == [7, 8, 9]
        assert [e.payload for e in last3] == notes(10)[7:]
        assert [e.seq for e in await log.tail(session.id, 100)] == list(range(10))
        assert await log.tail(session.id, 0) == []

    async def test_every_payload_kind_round_trips(self, log: SessionLog) -> None:
        samples = sample_payloads()
        assert {p.kind for p in samples} == set(EVENT_KINDS)
        session = await log.create_session(agent="main", channel="cli")
        appended = [await log.append(session.id, samples[0])]
        appended += await log.append_many(session.id, samples[1:])
        events = await log.read(session.id)
        assert events == appended
        for event, sample in zip(events, samples, strict=True):
            assert event.payload == sample
            assert event.kind == sample.kind
            assert payload_json(event.payload) == payload_json(sample)
        assert (await log.verify(session.id)).ok

    # -- verification ---------------------------------------------------------------------------

    async def test_verify_clean_chain(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        empty = await log.verify(session.id)
        assert (empty.ok, empty.events, empty.head_hash) == (True, 0, GENESIS_HASH)
        events = await log.append_many(session.id, notes(5))
        report = await log.verify(session.id)
        assert report.ok
        assert report.events == 5
        assert report.head_hash == events[-1].hash
        assert report.problems == ()

    async def test_verify_detects_an_edited_payload(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        events = await log.append_many(session.id, notes(5))
        forged = payload_json(NoteEvent(text="note 2, rewritten"))
        await self.tamper(log, session.id, 2, action="edit_payload", payload_text=forged)
        report = await log.verify(session.id)
        assert not report.ok
        assert report.events == 5
        bad = [p for p in report.problems if p.seq == 2]
        assert bad
        assert bad[0].event_id == events[2].id
        assert any("digest" in p.problem for p in bad)

    async def test_verify_detects_a_deleted_event(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        events = await log.append_many(session.id, notes(5))
        await self.tamper(log, session.id, 2, action="delete")
        report = await log.verify(session.id)
        assert not report.ok
        assert report.events == 4
        flagged = {p.event_id for p in report.problems}
        assert events[3].id in flagged  # the event after the hole no longer links
        assert flagged <= {events[3].id, events[4].id}
        assert any("prev_hash" in p.problem for p in report.problems)

    # -- runs -----------------------------------------------------------------------------------

    async def test_run_lifecycle(self, log: SessionLog) -> None:
        session = await log.create_session(agent="main", channel="cli")
        run = await log.start_run(session.id, agent="main", trigger="telegram")
        assert run.id.startswith("run_")
        assert (run.status, run.session_id, run.agent, run.trigger) == (
            RunStatus.RUNNING,
            session.id,
            "main",
            "telegram",
        )
        assert run.finished_at is None
        assert await log.get_run(run.id) == run
        started = (await log.read(session.id))[-1]
        assert started.run_id == run.id
        assert started.payload == RunStartedEvent(run_id=run.id, agent="main", trigger="telegram")
        await log.append(session.id, NoteEvent(text="working"), run_id=run.id)
        assert [r.id for r in await log.list_runs(status=RunStatus.RUNNING)] == [run.id]

        usage = Usage(input_tokens=10, output_tokens=5, cached_tokens=2)
        done = await log.finish_run(run.id, status=RunStatus.SUCCEEDED, usage=usage, cost_usd=0.25)
        assert (done.status, done.usage, done.cost_usd, done.error) == (
            RunStatus.SUCCEEDED,
            usage,
            0.25,
            None,
        )
        assert done.finished_at is not None
        assert done.finished_at >= done.started_at
        assert await log.get_run(run.id) == done
        finished = (await log.read(session.id))[-1]
        assert finished.run_id == run.id
        assert finished.payload == RunFinishedEvent(
            run_id=run.id, status=RunStatus.SUCCEEDED, usage=usage, cost_usd=0.25
        )
        assert await log.list_runs(status=RunStatus.RUNNING) == []
        assert [r.id for r in await log.list_runs(session_id=session.id)] == [run.id]
        with pytest.raises(RunStateError):
            await log.finish_run(run.id, status=RunStatus.FAILED)
        assert (await log.verify(session.id)).ok

    async def test_failed_run_keeps_its_error_and_runs_list_newest_first(
        self, log: SessionLog
    ) -> None:
        session = await log.create_session(agent="main", channel="cli")
        other = await log.create_session(agent="main", channel="cli")
        first = await log.start_run(session.id, agent="main", run_id="run_a")
        second = await log.start_run(other.id, agent="main", run_id="run_b")
        assert first.id == "run_a"
        with pytest.raises(RunExistsError):
            await log.start_run(session.id, agent="main", run_id="run_a")
        with pytest.raises(UsageError):
            await log.finish_run("run_a", status=RunStatus.RUNNING)
        error = ErrorInfo(type="ProviderError", message="timeout", retryable=True)
        failed = await log.finish_run("run_a", status=RunStatus.FAILED, error=error)
        assert failed.error == error
        assert (await log.get_run("run_a")).error == error
        assert [r.id for r in await log.list_runs()] == [second.id, first.id]
        assert [r.id for r in await log.list_runs(limit=1)] == [second.id]
        assert [r.id for r in await log.list_runs(status=RunStatus.FAILED)] == ["run_a"]
        assert [r.id for r in await log.list_runs(session_id=other.id)] == ["run_b"]

    # -- unknown ids ----------------------------------------------------------------------------

    async def test_unknown_session(self, log: SessionLog) -> None:
        missing = "ses_missing"
        with pytest.raises(SessionNotFoundError):
            await log.get_session(missing)
        with pytest.raises(SessionNotFoundError):
            await log.append(missing, NoteEvent(text="x"))
        with pytest.raises(SessionNotFoundError):
            await log.append_many(missing, notes(2))
        with pytest.raises(SessionNotFoundError):
            await log.read(missing)
        with pytest.raises(SessionNotFoundError):
            await log.tail(missing, 3)
        with pytest.raises(SessionNotFoundError):
            await log.verify(missing)
        with pytest.raises(SessionNotFoundError):
            await log.start_run(missing, agent="main")
        assert await log.list_sessions() == []

    async def test_unknown_run(self, log: SessionLog) -> None:
        with pytest.raises(RunNotFoundError):
            await log.get_run("run_missing")
        with pytest.raises(RunNotFoundError):
            await log.finish_run("run_missing", status=RunStatus.SUCCEEDED)
        assert await log.list_runs() == []
