"""Judging one replayed turn against its recording: the checks that make a case pass or fail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyclaw.eval._facts import TurnFacts
from pyclaw.eval._render import (
    event_line,
    first_difference,
    normalized,
    same_payload,
    unified,
)
from pyclaw.eval._report import Check
from pyclaw.meta import SessionEvent

if TYPE_CHECKING:
    from pyclaw.eval._cases import ReplayCase
    from pyclaw.eval._engine import ReplayOptions


def judge(
    case: ReplayCase,
    facts: TurnFacts,
    events: Sequence[SessionEvent],
    divergences: Sequence[str],
    options: ReplayOptions,
) -> list[Check]:
    """The checks of one attempt, in a fixed order: status, answer, tools, approvals,
    divergences, and (strict) the whole event sequence."""
    recorded = case.facts
    checks = [
        _same("status", [recorded.status or "?"], [facts.status or "?"]),
        _answer(recorded.answer, facts.answer, options),
        _same("tools", recorded.tool_sequence, facts.tool_sequence),
        _same("approvals", recorded.approval_sequence, facts.approval_sequence),
        Check(
            name="divergence",
            ok=not divergences,
            detail=divergences[0].splitlines()[0] if divergences else "",
            diff="\n\n".join(divergences),
        ),
    ]
    if options.strict:
        checks.append(event_check(case.events, events, prompts=False))
    return checks


def _answer(recorded: str | None, replayed: str | None, options: ReplayOptions) -> Check:
    before, after = recorded or "", replayed or ""
    ok = options.compare(before, after)
    diff = "" if ok else unified(before.splitlines() or [""], after.splitlines() or [""])
    detail = "" if ok else f"the answer differs ({options.compare.name})"
    return Check(name="answer", ok=ok, detail=detail, diff=diff)


def _same(name: str, recorded: list[str], replayed: list[str]) -> Check:
    if recorded == replayed:
        return Check(name=name, ok=True)  # pyright: ignore[reportArgumentType] - one of CheckName
    what = {"status": "the run's status", "tools": "the tool-call sequence"}.get(name, name)
    return Check(
        name=name,  # pyright: ignore[reportArgumentType] - one of CheckName
        ok=False,
        detail=f"{what} differs",
        diff=unified(recorded, replayed),
    )


def event_check(
    recorded: Sequence[SessionEvent], replayed: Sequence[SessionEvent], *, prompts: bool = True
) -> Check:
    """Strict: the replayed turn's events equal the recorded ones, kind by kind and field by
    field, ids, times and the system prompt aside. ``prompts=False`` leaves the model requests'
    messages and tools to the ``RecordedProvider``, which compares them call by call."""
    if len(recorded) == len(replayed) and all(
        same_payload(a.payload, b.payload, prompts=prompts)
        for a, b in zip(recorded, replayed, strict=True)
    ):
        return Check(name="events", ok=True)
    before = [normalized(e.payload) for e in recorded]
    after = [normalized(e.payload) for e in replayed]
    index = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    if index < min(len(before), len(after)):
        where = first_difference(before[index], after[index]) or "differs"
        detail = f"event {index + 1} ({recorded[index].kind}) {where}"
    else:
        detail = f"{len(before)} events recorded, {len(after)} replayed"
    diff = unified(
        [event_line(e.payload) for e in recorded], [event_line(e.payload) for e in replayed]
    )
    return Check(name="events", ok=False, detail=detail, diff=diff or detail)
