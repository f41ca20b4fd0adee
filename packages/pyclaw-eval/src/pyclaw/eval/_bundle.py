"""Portable, redacted session bundles: export a recorded session, import it into another home.

A bundle is JSON: ``{"format": "pyclaw-eval-bundle", "version": 1, "source": {...},
"events": [{"seq", "run_id", "kind", "ts", "payload"}, ...]}``. Every string in it passes through
the given ``Redactor`` (the runtime hands over its secret redactor). Importing replays the events,
in order, into a new session of a ``SessionLog``: the log assigns new ids and re-computes the hash
chain; runs get new ids (so one bundle can be imported twice). A ``pyclaw sessions export``
bundle (format ``pyclaw-session``) imports too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from pydantic import JsonValue, ValidationError

from pyclaw.eval._errors import BundleError
from pyclaw.meta import (
    EventPayload,
    NullRedactor,
    Redactor,
    RunFinishedEvent,
    RunStartedEvent,
    RunStatus,
    SessionEvent,
    SessionInfo,
    SessionLog,
    canonical_json,
    new_id,
    parse_payload,
    utcnow,
)

BUNDLE_FORMAT = "pyclaw-eval-bundle"
BUNDLE_VERSION = 1
_READABLE = {(BUNDLE_FORMAT, 1), ("pyclaw-session", 1)}


def _redacted(value: JsonValue, redactor: Redactor) -> JsonValue:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, list):
        return [_redacted(v, redactor) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, redactor) for k, v in value.items()}
    return value


def export_bundle(
    info: SessionInfo, events: Sequence[SessionEvent], *, redactor: Redactor | None = None
) -> dict[str, JsonValue]:
    """The bundle of one session (its events in order), every string redacted."""
    r = redactor or NullRedactor()
    source: dict[str, JsonValue] = {
        "session_id": info.id,
        "agent": info.agent,
        "channel": info.channel,
        "title": None if info.title is None else r.redact(info.title),
        "created_at": info.created_at.isoformat(),
        "events": len(events),
    }
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "exported_at": utcnow().isoformat(),
        "source": source,
        "events": [
            {
                "seq": e.seq,
                "run_id": e.run_id,
                "kind": e.kind,
                "ts": e.ts.isoformat(),
                "payload": _redacted(e.payload.model_dump(mode="json"), r),
            }
            for e in events
        ],
    }


def read_bundle(path: Path) -> dict[str, Any]:
    """Load a bundle file; ``BundleError`` when it is not JSON or not a bundle."""
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BundleError(f"cannot read the bundle {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise BundleError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{path} is not a session bundle")
    return cast("dict[str, Any]", data)


def _payloads(data: dict[str, Any]) -> list[tuple[str | None, EventPayload]]:
    key = (data.get("format"), data.get("version"))
    if key not in _READABLE:
        raise BundleError(
            f"not a session bundle this version reads (format {key[0]!r}, version {key[1]!r}; "
            f"expected {BUNDLE_FORMAT!r} version {BUNDLE_VERSION})"
        )
    raw = data.get("events")
    if not isinstance(raw, list) or not raw:
        raise BundleError("the bundle has no events")
    out: list[tuple[str | None, EventPayload]] = []
    for index, item in enumerate(cast("list[Any]", raw)):
        if not isinstance(item, dict) or "payload" not in item:
            raise BundleError(f"bundle event {index} has no payload")
        entry = cast("dict[str, Any]", item)
        try:
            payload = parse_payload(canonical_json(entry["payload"]))
        except (ValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0]
            raise BundleError(f"bundle event {index} is invalid: {first}") from exc
        run_id = entry.get("run_id")
        out.append((run_id if isinstance(run_id, str) else None, payload))
    return out


def _source(data: dict[str, Any]) -> dict[str, Any]:
    source: object = data.get("source") or data.get("session")
    return cast("dict[str, Any]", source) if isinstance(source, dict) else {}


async def import_bundle(
    data: dict[str, Any], log: SessionLog, *, agent: str | None = None
) -> SessionInfo:
    """Write the bundle's events, in order, into a new session of ``log``; returns it.

    Runs left unfinished in the bundle are closed as ``interrupted`` so nothing tries to resume
    them. ``BundleError`` when the bundle is not valid (nothing is written then).
    """
    payloads = _payloads(data)
    source = _source(data)
    src_agent = source.get("agent")
    src_id = source.get("session_id") or source.get("id")
    title = source.get("title")
    info = await log.create_session(
        agent=agent or (src_agent if isinstance(src_agent, str) else "default"),
        channel="import",
        title=title if isinstance(title, str) else None,
        metadata={"imported_from": src_id if isinstance(src_id, str) else None},
    )
    runs: dict[str, str] = {}
    open_runs: set[str] = set()
    batch: list[EventPayload] = []
    batch_run: str | None = None

    async def flush() -> None:
        if batch:
            await log.append_many(info.id, list(batch), run_id=batch_run)
            batch.clear()

    for old_run, payload in payloads:
        run = None if old_run is None else runs.get(old_run)
        if isinstance(payload, RunStartedEvent) and old_run is not None:
            await flush()
            run = runs[old_run] = new_id("run")
            await log.start_run(info.id, agent=payload.agent, run_id=run, trigger=payload.trigger)
            open_runs.add(run)
        elif isinstance(payload, RunFinishedEvent) and run in open_runs:
            await flush()
            await log.finish_run(
                run,
                status=payload.status,
                usage=payload.usage,
                cost_usd=payload.cost_usd,
                error=payload.error,
            )
            open_runs.discard(run)
        else:
            if run != batch_run:
                await flush()
                batch_run = run
            batch.append(payload)
    await flush()
    for run in open_runs:
        await log.finish_run(run, status=RunStatus.INTERRUPTED)
    return await log.get_session(info.id)
