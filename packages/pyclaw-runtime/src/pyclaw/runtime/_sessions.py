"""The work behind ``pyclaw sessions`` and ``pyclaw runs``: reads through ``SQLiteSessionLog``."""

from __future__ import annotations

from typing import Any

from pyclaw.meta import (
    ChainBrokenError,
    ChainReport,
    RunRecord,
    RunStatus,
    SessionEvent,
    SessionInfo,
    UsageError,
    utcnow,
)
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_services

ALL = 1_000_000_000
BUNDLE_FORMAT = "pyclaw-session"
BUNDLE_VERSION = 1


async def list_sessions(
    home: PyClawHome, *, limit: int, agent: str | None, channel: str | None
) -> list[SessionInfo]:
    with open_services(home) as s:
        return await s.sessions.list_sessions(limit=limit, agent=agent, channel=channel)


async def show_session(home: PyClawHome, session_id: str) -> tuple[SessionInfo, list[SessionEvent]]:
    with open_services(home) as s:
        info = await s.sessions.get_session(session_id)
        return info, await s.sessions.read(session_id)


async def export_session(home: PyClawHome, session_id: str) -> dict[str, Any]:
    """The portable JSON bundle of one session: its record, events (in order) and runs."""
    with open_services(home) as s:
        info = await s.sessions.get_session(session_id)
        events = await s.sessions.read(session_id)
        runs = await s.sessions.list_runs(session_id=session_id, limit=ALL)
        report = await s.sessions.verify(session_id)
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "exported_at": utcnow().isoformat(),
        "session": info.model_dump(mode="json"),
        "events": [event.model_dump(mode="json") for event in events],
        "runs": [run.model_dump(mode="json") for run in reversed(runs)],
        "chain": report.model_dump(mode="json"),
    }


async def verify_sessions(
    home: PyClawHome, session_ids: tuple[str, ...], *, all_sessions: bool
) -> list[ChainReport]:
    if not session_ids and not all_sessions:
        raise UsageError("name one or more session ids, or use --all")
    with open_services(home) as s:
        if all_sessions:
            infos = await s.sessions.list_sessions(limit=ALL)
            ids = [info.id for info in reversed(infos)]
        else:
            ids = list(dict.fromkeys(session_ids))
            for session_id in ids:
                await s.sessions.get_session(session_id)  # SessionNotFoundError before any work
        return [await s.sessions.verify(session_id) for session_id in ids]


def broken_error(reports: list[ChainReport]) -> ChainBrokenError | None:
    broken = [r for r in reports if not r.ok]
    if not broken:
        return None
    first = broken[0].problems[0] if broken[0].problems else None
    where = (
        f"{broken[0].session_id} seq {first.seq}: {first.problem}"
        if first
        else broken[0].session_id
    )
    return ChainBrokenError(
        f"hash chain broken in {len(broken)} of {len(reports)} session(s) (first: {where})"
    )


async def list_runs(
    home: PyClawHome, *, session_id: str | None, status: str | None, limit: int
) -> list[RunRecord]:
    with open_services(home) as s:
        return await s.sessions.list_runs(
            session_id=session_id,
            status=RunStatus(status) if status is not None else None,
            limit=limit,
        )


async def get_run(home: PyClawHome, run_id: str) -> RunRecord:
    with open_services(home) as s:
        return await s.sessions.get_run(run_id)
