"""``SQLiteSessionLog``: the ``SessionLog`` contract over a ``pyclaw.storage.Database``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from pydantic import JsonValue

from pyclaw.meta import (
    ArtifactNotFoundError,
    ArtifactStore,
    ChainProblem,
    ChainReport,
    ErrorInfo,
    EventPayload,
    IntegrityError,
    Redactor,
    RunFinishedEvent,
    RunRecord,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    SessionInfo,
    StorageError,
    Usage,
    UsageError,
    new_id,
)
from pyclaw.session._errors import RunStateError
from pyclaw.session._prepare import prepare
from pyclaw.session._records import INTERRUPTED, PreparedPayload, StoredEvent
from pyclaw.session._render import PayloadRenderer
from pyclaw.session._schema import SESSION_MIGRATIONS
from pyclaw.session._sqlite_core import SQLiteCore
from pyclaw.session._verify import verify_stored
from pyclaw.storage import Database


class SQLiteSessionLog:
    """An append-only, hash-chained session log in SQLite (implements ``pyclaw.meta.SessionLog``).

    Every operation runs on the database's worker thread, so the event loop never blocks. Payloads
    whose stored text is longer than ``inline_limit`` bytes go to ``artifacts`` (when given) and are
    fetched back, verified, on read. ``redactor`` is applied to every payload text before it is
    stored and hashed. The schema (component ``session``) is migrated on construction.
    """

    def __init__(
        self,
        db: Database,
        *,
        artifacts: ArtifactStore | None = None,
        inline_limit: int = 64 * 1024,
        redactor: Redactor | None = None,
    ) -> None:
        if inline_limit < 0:
            raise UsageError("inline_limit must be >= 0")
        db.ensure(SESSION_MIGRATIONS)
        self.db = db
        self.artifacts = artifacts
        self.inline_limit = inline_limit
        self.redactor = redactor
        self._core = SQLiteCore(db)
        self._render = PayloadRenderer().render

    # -- sessions -------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        agent: str,
        channel: str,
        session_id: str | None = None,
        title: str | None = None,
        external_key: str | None = None,
        metadata: dict[str, JsonValue] | None = None,
    ) -> SessionInfo:
        """Create a session; ``SessionExistsError`` if the id or external key is taken."""
        return await self.db.run(
            lambda: self._core.create_session(
                agent=agent,
                channel=channel,
                session_id=session_id,
                title=title,
                external_key=external_key,
                metadata=metadata,
            )
        )

    async def get_session(self, session_id: str) -> SessionInfo:
        return await self.db.run(self._core.get_session, session_id)

    async def find_session(self, external_key: str) -> SessionInfo | None:
        """The session created with ``external_key`` (e.g. a Telegram chat id), if any."""
        return await self.db.run(self._core.find_session, external_key)

    async def list_sessions(
        self, *, limit: int = 100, agent: str | None = None, channel: str | None = None
    ) -> list[SessionInfo]:
        return await self.db.run(self._core.list_sessions, _limit(limit), agent, channel)

    # -- events ---------------------------------------------------------------------------------

    async def _prepare(self, payload: EventPayload) -> PreparedPayload:
        """Render one payload (on the loop: run payloads are small) and offload it if large."""
        return await self._offload(prepare(payload, self.redactor, self._render))

    def _oversized(self, item: PreparedPayload) -> bool:
        """Whether ``item``'s text goes to the artifact store rather than into the row."""
        chars = len(item.text)
        if self.artifacts is None or chars * 4 <= self.inline_limit:
            return False
        if chars > self.inline_limit or item.text.isascii():  # no need to encode it to know
            return chars > self.inline_limit
        return len(item.text.encode("utf-8")) > self.inline_limit

    async def _offload(self, item: PreparedPayload) -> PreparedPayload:
        if self.artifacts is None or not self._oversized(item):
            return item
        data = item.text.encode("utf-8")
        ref = await self.artifacts.put(
            data, media_type="application/json", name=f"{item.payload.kind}.json"
        )
        return PreparedPayload(item.payload, item.text, ref.sha256)

    def _prepare_all(self, payloads: Sequence[EventPayload]) -> list[PreparedPayload]:
        return [prepare(p, self.redactor, self._render) for p in payloads]

    def _prepare_and_append(
        self, session_id: str, payloads: Sequence[EventPayload], run_id: str | None
    ) -> list[SessionEvent] | list[PreparedPayload]:
        """The appended events; or, when a payload must go to the artifact store first, the
        prepared payloads, nothing appended."""
        items = self._prepare_all(payloads)
        if any(self._oversized(item) for item in items):
            return items
        return self._core.append(session_id, items, run_id)

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> SessionEvent:
        return (await self.append_many(session_id, [payload], run_id=run_id))[0]

    async def append_many(
        self, session_id: str, payloads: Sequence[EventPayload], *, run_id: str | None = None
    ) -> list[SessionEvent]:
        """Append ``payloads`` in one transaction: all of them or none.

        Rendering, redaction, sealing and the INSERT all run in one trip to the database worker;
        payload texts too large to keep inline go to the artifact store between two trips.
        """
        done = await self.db.run(self._prepare_and_append, session_id, payloads, run_id)
        if not done or isinstance(done[0], SessionEvent):
            return cast("list[SessionEvent]", done)
        items = [await self._offload(item) for item in cast("list[PreparedPayload]", done)]
        return await self.db.run(self._core.append, session_id, items, run_id)

    async def _texts(self, rows: Sequence[StoredEvent]) -> dict[str, str]:
        """Payload texts of rows stored as artifacts (verified by the artifact store)."""
        texts: dict[str, str] = {}
        for row in rows:
            if row.ref is None or row.ref in texts:
                continue
            if self.artifacts is None:
                raise StorageError(
                    f"event {row.id} keeps its payload in artifact {row.ref[:12]}… "
                    "but this session log has no artifact store"
                )
            texts[row.ref] = (await self.artifacts.get(row.ref)).decode("utf-8")
        return texts

    async def _events(
        self, fetched: tuple[list[StoredEvent], list[SessionEvent] | None]
    ) -> list[SessionEvent]:
        rows, events = fetched
        if events is not None:
            return events
        texts = await self._texts(rows)
        return await self.db.run(_build, rows, texts)

    async def read(
        self, session_id: str, *, after_seq: int = -1, limit: int | None = None
    ) -> list[SessionEvent]:
        if limit is not None:
            limit = _limit(limit)
        core = self._core
        return await self._events(
            await self.db.run(lambda: _built(core.read_rows(session_id, after_seq, limit)))
        )

    async def tail(self, session_id: str, n: int) -> list[SessionEvent]:
        n = _limit(n)
        core = self._core
        return await self._events(await self.db.run(lambda: _built(core.tail_rows(session_id, n))))

    async def verify(self, session_id: str) -> ChainReport:
        """Check the chain from the stored bytes: edits, deletions and reordering are reported."""
        rows = await self.db.run(self._core.read_rows, session_id, -1, None)
        texts: list[str] = []
        problems: list[ChainProblem] = []
        for row in rows:
            if row.text is not None:
                texts.append(row.text)
                continue
            texts.append(await self._artifact_text(row, problems))
        return await self.db.run(verify_stored, session_id, rows, texts, problems)

    async def _artifact_text(self, row: StoredEvent, problems: list[ChainProblem]) -> str:
        assert row.ref is not None
        if self.artifacts is None:
            problems.append(_problem(row, "payload artifact cannot be read: no artifact store"))
            return ""
        try:
            return (await self.artifacts.get(row.ref)).decode("utf-8")
        except ArtifactNotFoundError:
            problems.append(_problem(row, "payload artifact is missing"))
        except IntegrityError:
            problems.append(_problem(row, "payload artifact is corrupt"))
        return ""

    def payload_refs(self) -> set[str]:
        """The sha256 of every artifact holding a payload (pass to artifact cleanup as referenced)."""
        with self.db.locked():
            return self._core.payload_refs()

    # -- runs -----------------------------------------------------------------------------------

    async def start_run(
        self, session_id: str, *, agent: str, run_id: str | None = None, trigger: str | None = None
    ) -> RunRecord:
        """Record a running run and its ``run_started`` event in one transaction."""
        rid = run_id or new_id("run")
        item = await self._prepare(RunStartedEvent(run_id=rid, agent=agent, trigger=trigger))
        return await self.db.run(self._core.start_run, session_id, agent, rid, trigger, item)

    async def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        usage: Usage | None = None,
        cost_usd: float | None = None,
        error: ErrorInfo | None = None,
    ) -> RunRecord:
        """Close a running run and append its ``run_finished`` event in one transaction."""
        if not status.terminal:
            raise UsageError(f"finish_run needs a terminal status, not {status.value!r}")
        used = usage or Usage()
        cost = 0.0 if cost_usd is None else cost_usd
        payload = RunFinishedEvent(
            run_id=run_id, status=status, usage=used, cost_usd=cost, error=error
        )
        item = await self._prepare(payload)
        return await self.db.run(self._core.finish_run, run_id, item)

    async def get_run(self, run_id: str) -> RunRecord:
        return await self.db.run(self._core.get_run, run_id)

    async def list_runs(
        self, *, session_id: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """Most recently started first."""
        return await self.db.run(self._core.list_runs, session_id, status, _limit(limit))

    async def mark_interrupted(self) -> list[RunRecord]:
        """Close every run still ``running`` (left by a crash) as ``interrupted``, with its event.

        Call once when the daemon starts, before it runs anything.
        """
        running = await self.list_runs(status=RunStatus.RUNNING, limit=1_000_000)
        closed: list[RunRecord] = []
        for run in reversed(running):
            try:
                closed.append(
                    await self.finish_run(run.id, status=RunStatus.INTERRUPTED, error=INTERRUPTED)
                )
            except RunStateError:
                continue  # finished meanwhile by its own process
        return closed


def _limit(value: int) -> int:
    if value < 0:
        raise UsageError(f"limit must be >= 0, not {value}")
    return value


def _problem(row: StoredEvent, text: str) -> ChainProblem:
    return ChainProblem(seq=row.seq, event_id=row.id, problem=text)


def _built(rows: list[StoredEvent]) -> tuple[list[StoredEvent], list[SessionEvent] | None]:
    """Parse the rows right away when every payload is inline (one trip to the worker)."""
    if any(row.ref is not None for row in rows):
        return rows, None
    return rows, _build(rows, {})


def _build(rows: list[StoredEvent], texts: dict[str, str]) -> list[SessionEvent]:
    return [row.to_event(None if row.ref is None else texts[row.ref]) for row in rows]
