"""Bundles: export redacts every string, import rebuilds the session in order with a fresh chain;
the scratch log behaves like a session log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyclaw_eval_minibrain import record

from pyclaw.eval import (
    BundleError,
    ScratchSessionLog,
    export_bundle,
    import_bundle,
    read_bundle,
    read_session,
)
from pyclaw.meta import RunStatus, ToolCall

SECRET = "sk-live-0123456789"


class Redact:
    def redact(self, text: str) -> str:
        return text.replace(SECRET, "[REDACTED]")


async def test_export_redacts_and_import_keeps_order_in_a_new_session(tmp_path: Path) -> None:
    read = ToolCall(id="call_1", name="read_file", arguments={"path": "key.txt"})
    rec = await record([("show the key", [read, f"It is {SECRET}"])], files={"key.txt": SECRET})
    events = await rec.log.read(rec.session_id)
    bundle = export_bundle(await rec.log.get_session(rec.session_id), events, redactor=Redact())
    text = json.dumps(bundle)
    assert SECRET not in text
    assert "[REDACTED]" in text
    path = tmp_path / "b.json"
    path.write_text(text)

    other = ScratchSessionLog()
    info = await import_bundle(read_bundle(path), other)
    assert info.id != rec.session_id
    assert info.metadata["imported_from"] == rec.session_id
    copied = await other.read(info.id)
    assert [e.kind for e in copied] == [e.kind for e in events]
    assert (await other.verify(info.id)).ok
    runs = await other.list_runs(session_id=info.id)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED]
    assert runs[0].id != events[0].run_id
    case = read_session(info.id, copied).cases[0]
    assert case.facts.answer == "It is [REDACTED]"
    again = await import_bundle(read_bundle(path), other)  # new run ids: importable twice
    assert again.id != info.id


async def test_unfinished_runs_are_closed_as_interrupted() -> None:
    rec = await record([("hi", ["hello"])])
    events = (await rec.log.read(rec.session_id))[:-1]  # drop run_finished
    bundle = export_bundle(await rec.log.get_session(rec.session_id), events)
    log = ScratchSessionLog()
    info = await import_bundle(bundle, log)
    assert [r.status for r in await log.list_runs(session_id=info.id)] == [RunStatus.INTERRUPTED]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"format": "other", "version": 1, "events": []},
            "not a session bundle this version reads",
        ),
        ({"format": "pyclaw-eval-bundle", "version": 1, "events": []}, "no events"),
        (
            {
                "format": "pyclaw-eval-bundle",
                "version": 1,
                "events": [{"payload": {"kind": "nope"}}],
            },
            "bundle event 0 is invalid",
        ),
    ],
)
async def test_bad_bundles_are_refused_before_writing(
    data: dict[str, object], message: str
) -> None:
    log = ScratchSessionLog()
    with pytest.raises(BundleError, match=message):
        await import_bundle(data, log)
    assert await log.list_sessions() == []


def test_unreadable_bundle_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(BundleError, match="is not JSON"):
        read_bundle(path)
