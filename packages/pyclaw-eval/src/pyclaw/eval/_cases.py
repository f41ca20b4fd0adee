"""A recorded session as replay cases: each user turn (a run with a user message) is one case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyclaw.eval._errors import EvalError
from pyclaw.eval._facts import TurnFacts, turn_facts
from pyclaw.meta import (
    Message,
    RunStartedEvent,
    SessionEvent,
    ToolSpec,
    UserMessageEvent,
)


@dataclass(frozen=True, slots=True)
class ReplayCase:
    """One recorded user turn and everything a replay compares it with.

    ``events`` are the turn's own events (its run, and any run that resumed it after a crash);
    ``prefix`` is how many of the session's events came before it: a replay starts from exactly
    that history, so each case is judged on its own, never on an earlier case's replayed answer.
    """

    session_id: str
    turn: int
    agent: str
    input: Message
    prefix: int
    events: tuple[SessionEvent, ...]
    facts: TurnFacts

    @property
    def id(self) -> str:
        return f"{self.session_id}#{self.turn}"

    @property
    def prompt(self) -> str:
        return self.input.text

    @property
    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """The tools the model was offered in this turn (from its first recorded request)."""
        for exchange in self.facts.llm:
            if exchange.request is not None:
                return exchange.request.tools
        return ()


@dataclass(frozen=True, slots=True)
class RecordedSession:
    """A session's recorded events, in order, and the cases read from them."""

    session_id: str
    agent: str
    events: tuple[SessionEvent, ...]
    cases: tuple[ReplayCase, ...]


def read_session(
    session_id: str, events: Sequence[SessionEvent], *, agent: str | None = None
) -> RecordedSession:
    """Split a session's events (from ``SessionLog.read``) into replay cases.

    A run whose events hold a ``user_message`` starts a case; a run without one (a crash resume)
    belongs to the case before it. Events outside any run stay in the history only.
    Raises ``EvalError`` when the session has no user turn to replay.
    """
    ordered = tuple(events)
    for index, event in enumerate(ordered):
        if event.seq != index or event.session_id != session_id:
            raise EvalError(f"session {session_id}: events must be the whole session, in order")
    runs: dict[str, list[int]] = {}
    for index, event in enumerate(ordered):
        if event.run_id is not None:
            runs.setdefault(event.run_id, []).append(index)
    groups: list[list[int]] = []
    for indices in runs.values():
        if any(isinstance(ordered[i].payload, UserMessageEvent) for i in indices) or not groups:
            groups.append(list(indices))
        else:
            groups[-1].extend(indices)
    cases: list[ReplayCase] = []
    for turn, indices in enumerate(sorted(groups, key=lambda g: g[0]), start=1):
        turn_events = tuple(ordered[i] for i in sorted(indices))
        facts = turn_facts(turn_events)
        if facts.user is None:
            continue
        cases.append(
            ReplayCase(
                session_id=session_id,
                turn=turn,
                agent=agent or _agent_of(turn_events) or "default",
                input=facts.user,
                prefix=min(indices),
                events=turn_events,
                facts=facts,
            )
        )
    if not cases:
        raise EvalError(f"session {session_id} has no recorded user turn to replay")
    return RecordedSession(
        session_id=session_id,
        agent=agent or cases[0].agent,
        events=ordered,
        cases=tuple(cases),
    )


def _agent_of(events: Sequence[SessionEvent]) -> str | None:
    for event in events:
        if isinstance(event.payload, RunStartedEvent):
            return event.payload.agent
    return None
