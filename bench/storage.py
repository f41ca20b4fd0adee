"""Event-log throughput on a temporary SQLite file: appends, batched appends, tail reads, verify.

Targets come from use: an agent turn writes about ten events, so single committed appends at
>= 1,000/s keep the audit trail under 10 ms a turn; imports and replays use batches (>= 10,000/s).
Each awaited append pays one hop to the database worker thread (~140 us on a 2-core VM) plus one
commit; batching amortizes both.

``run(quick)`` returns rows ``{"name", "value", "unit", "target", "ok"}`` for the bench harness;
``python -m bench.storage [--quick]`` prints them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pyclaw.meta import EventPayload, NoteEvent, ToolResult, ToolResultEvent
from pyclaw.session import SQLiteSessionLog
from pyclaw.storage import Database

Row = dict[str, object]


def _payload(i: int) -> EventPayload:
    if i % 2:
        return NoteEvent(text=f"note {i}: " + "lorem ipsum " * 8)
    return ToolResultEvent(
        result=ToolResult(call_id=f"call_{i}", name="read_file", content="x" * 200, duration_ms=1.5)
    )


class _Clock:
    """Wall-clock and process CPU time (all threads) of one measured block."""

    def __enter__(self) -> _Clock:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _row(
    name: str, value: float, unit: str, target: str | None, ok: bool | None, detail: str
) -> Row:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "target": target,
        "ok": ok,
        "detail": f"{detail}; load average {os.getloadavg()[0]:.1f}",
    }


async def _fill(log: SQLiteSessionLog, session_id: str, count: int, batch: int = 1000) -> None:
    for start in range(0, count, batch):
        size = min(batch, count - start)
        await log.append_many(session_id, [_payload(start + i) for i in range(size)])


async def _bench(directory: Path, quick: bool) -> list[Row]:
    singles = 1_000 if quick else 5_000
    batches = 5 if quick else 50
    long_session = 10_000 if quick else 100_000
    verify_size = 2_000 if quick else 10_000
    rows: list[Row] = []
    db = Database.open(directory / "bench.db")
    try:
        log = SQLiteSessionLog(db)

        sid = (await log.create_session(agent="bench", channel="bench")).id
        payloads = [_payload(i) for i in range(singles)]
        with _Clock() as clock:
            for p in payloads:
                await log.append(sid, p)
        rate = singles / clock.wall
        rows.append(
            _row(
                "append (1 event per commit)",
                rate,
                "events/s",
                ">= 1000",
                rate >= 1000,
                f"{singles:,} awaited appends; CPU-time basis {singles / clock.cpu:,.0f}/s",
            )
        )

        sid = (await log.create_session(agent="bench", channel="bench")).id
        chunks = [[_payload(b * 1000 + i) for i in range(1000)] for b in range(batches)]
        with _Clock() as clock:
            for chunk in chunks:
                await log.append_many(sid, chunk)
        rate = batches * 1000 / clock.wall
        rows.append(
            _row(
                "append_many (1000 per commit)",
                rate,
                "events/s",
                ">= 10000",
                rate >= 10_000,
                f"{batches} batches; CPU-time basis {batches * 1000 / clock.cpu:,.0f}/s",
            )
        )

        sid = (await log.create_session(agent="bench", channel="bench")).id
        await _fill(log, sid, long_session)
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(7):
            with _Clock() as clock:
                tail = await log.tail(sid, 1000)
            walls.append(clock.wall * 1000)
            cpus.append(clock.cpu * 1000)
            assert len(tail) == 1000
        ms = statistics.median(walls)
        rows.append(
            _row(
                f"tail 1000 of {long_session:,} events",
                ms,
                "ms",
                "<= 50",
                ms <= 50,
                f"median of 7; CPU-time basis {statistics.median(cpus):.1f} ms",
            )
        )

        sid = (await log.create_session(agent="bench", channel="bench")).id
        await _fill(log, sid, verify_size)
        with _Clock() as clock:
            report = await log.verify(sid)
        assert report.ok
        assert report.events == verify_size
        rows.append(
            _row(
                f"verify {verify_size:,} events",
                clock.wall * 1000,
                "ms",
                None,
                None,
                f"CPU-time basis {clock.cpu * 1000:.0f} ms",
            )
        )
    finally:
        db.close()
    return rows


def run(quick: bool = False) -> list[Row]:
    """Run the storage benchmarks on a temporary file database."""
    with tempfile.TemporaryDirectory(prefix="pyclaw-bench-") as tmp:
        return asyncio.run(_bench(Path(tmp), quick))


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        mark = {"True": "ok", "False": "MISS"}.get(str(result["ok"]), "-")
        print(
            f"{result['name']:<32} {result['value']:>10} {result['unit']:<9} "
            f"{result['target'] or '':<9} {mark:<5} {result['detail']}"
        )
