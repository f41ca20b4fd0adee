"""Eval suites as files (TOML, or YAML with the ``yaml`` extra) and running them.

A suite names recorded sessions to replay and inline prompts to run, each with optional
assertions::

    name = "smoke"
    agent = "main"            # default agent for inline prompts
    strict = false            # suite-wide replay settings (like the CLI flags)
    tools = "recorded"
    compare = "normalized"
    repeat = 1

    [[cases]]
    session = "ses_01J..."    # every recorded turn of it (or just ``turn = 2``)
    assert = [{ tool_called = "read_file", args = { path = "notes.txt" } }]

    [[cases]]
    name = "greets"
    prompt = "Say hello"
    assert = [{ contains = "hello" }, { tool_not_called = "exec" }, { max_cost_usd = 0.01 }]
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, model_validator

from pyclaw.eval._assertions import Assertion
from pyclaw.eval._cases import RecordedSession, ReplayCase
from pyclaw.eval._compare import comparator
from pyclaw.eval._engine import CaseCallback, MakeBrain, ReplayOptions, ToolsMode, replay_case
from pyclaw.eval._errors import SuiteError
from pyclaw.eval._facts import TurnFacts
from pyclaw.eval._report import CaseReport, ReplayReport, summarize
from pyclaw.eval._verdict import AnswerJudge
from pyclaw.meta import Message, Model, new_id


class SuiteCase(Model):
    """One entry: a recorded ``session`` (optionally one ``turn``) or an inline ``prompt``."""

    name: str | None = None
    session: str | None = None
    turn: int | None = Field(default=None, ge=1)
    prompt: str | None = None
    agent: str | None = None
    assertions: tuple[Assertion, ...] = Field(default=(), alias="assert")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.session is None) == (self.prompt is None):
            raise ValueError("a case needs exactly one of 'session' or 'prompt'")
        if self.turn is not None and self.session is None:
            raise ValueError("'turn' goes with 'session' only")
        return self


class Suite(Model):
    name: str | None = None
    agent: str | None = None
    strict: bool = False
    tools: ToolsMode = "recorded"
    compare: str = "exact"
    repeat: int = Field(default=1, ge=1)
    cases: tuple[SuiteCase, ...] = Field(min_length=1)

    def options(self) -> ReplayOptions:
        return ReplayOptions(
            strict=self.strict,
            tools=self.tools,
            repeat=self.repeat,
            compare=comparator(self.compare),
            agent=self.agent,
        )


def load_suite(path: Path) -> Suite:
    """Read a suite file (``.toml``, ``.yaml``/``.yml``); ``SuiteError`` names what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"cannot read the suite {path}: {exc.strerror}") from exc
    data = _parse(path, text)
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise SuiteError(f"{path}: {where}: {error['msg']}") from exc


def _parse(path: Path, text: str) -> object:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # noqa: PLC0415 - optional: the 'yaml' extra
        except ImportError as exc:
            raise SuiteError(
                f"{path}: YAML suites need PyYAML (pip install 'pyclaw-eval[yaml]')"
            ) from exc
        try:
            data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SuiteError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from exc
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: invalid TOML: {exc}") from exc


LoadSession = Callable[[str], Awaitable[RecordedSession]]


async def run_suite(
    suite: Suite,
    *,
    load_session: LoadSession,
    make_brain: MakeBrain,
    default_agent: str,
    on_case: CaseCallback | None = None,
    judge: AnswerJudge | None = None,
) -> ReplayReport:
    """Run every case of ``suite``: sessions are replayed and judged against their recording
    plus the assertions; inline prompts run fresh (live tools, the caller's model) and are judged
    by their assertions alone. ``judge`` also asks a validator about every answer (both kinds)."""
    options = replace(suite.options(), judge=judge)
    started = time.perf_counter()
    reports: list[CaseReport] = []

    def done(report: CaseReport) -> None:
        reports.append(report)
        if on_case is not None:
            on_case(report)

    for entry in suite.cases:
        if entry.session is not None:
            session = await load_session(entry.session)
            picked = [c for c in session.cases if entry.turn is None or c.turn == entry.turn]
            if not picked:
                raise SuiteError(f"session {entry.session} has no turn {entry.turn}")
            for case in picked:
                done(
                    await replay_case(
                        session,
                        case,
                        make_brain,
                        options,
                        assertions=entry.assertions,
                        name=entry.name,
                    )
                )
            continue
        assert entry.prompt is not None
        agent = entry.agent or suite.agent or default_agent
        case = ReplayCase(
            session_id=new_id("ses"),
            turn=1,
            agent=agent,
            input=Message.user(entry.prompt),
            prefix=0,
            events=(),
            facts=TurnFacts(),
        )
        fresh = RecordedSession(session_id=case.session_id, agent=agent, events=(), cases=(case,))
        inline = ReplayOptions(
            tools="live", repeat=options.repeat, compare=options.compare, agent=agent, judge=judge
        )
        done(
            await replay_case(
                fresh,
                case,
                make_brain,
                inline,
                assertions=entry.assertions,
                recorded=False,
                name=entry.name,
                case_id=f"prompt:{entry.name or entry.prompt}",
            )
        )
    cases = tuple(reports)
    return ReplayReport(
        settings={**options.describe(), "suite": suite.name},
        cases=cases,
        summary=summarize(cases, seconds=time.perf_counter() - started),
    )
