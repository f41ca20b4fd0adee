"""The replay report (pydantic): per case, per attempt, the checks made; JSON in and out; the
comparison with a baseline report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError

from pyclaw.eval._errors import EvalError
from pyclaw.meta import Model, Usage, UsageError, ValidateVerdict, atomic_write_text, utcnow

REPORT_FORMAT = "pyclaw-eval-report"
REPORT_VERSION = 1

CheckName = Literal[
    "answer", "tools", "approvals", "status", "events", "divergence", "assertion", "judge"
]
BaselineVerdict = Literal["improved", "regressed", "unchanged", "new"]
JudgeOutcome = Literal["valid", "invalid", "inconclusive"]


class Check(Model):
    """One comparison of a replayed turn with its recording (or one suite assertion)."""

    name: CheckName
    ok: bool
    detail: str = ""
    diff: str = ""


class Observed(Model):
    """What a turn did: recorded, or in one replay attempt."""

    status: str | None = None
    answer: str | None = None
    tool_calls: tuple[str, ...] = ()
    approvals: tuple[str, ...] = ()
    usage: Usage = Usage()
    cost_usd: float = 0.0
    latency_ms: float | None = None


class Judgement(Model):
    """What the judge (a ``Validator``, e.g. a Cortensor router) said about one attempt's answer.

    ``verdict`` is ``None`` when there is none: the judge failed (``error`` says why) or the turn
    gave no answer to judge. ``score`` is the judge's confidence in [0, 1] when it gave one.
    """

    judge: str
    verdict: ValidateVerdict | None = None
    score: float | None = None
    reasons: tuple[str, ...] = ()
    validators: int = 0
    risk_level: str | None = None
    latency_ms: float | None = None
    error: str | None = None

    @property
    def outcome(self) -> JudgeOutcome:
        """``valid`` (VALID), ``invalid`` (INVALID), else ``inconclusive`` (RETRY, NEEDS_SPEC,
        an error of the judge, nothing to judge)."""
        if self.verdict == "VALID":
            return "valid"
        return "invalid" if self.verdict == "INVALID" else "inconclusive"

    def label(self) -> str:
        """``VALID 0.90``, ``INVALID``, ``error`` or ``-`` (no answer): for tables."""
        if self.verdict is None:
            return "error" if self.error else "-"
        return self.verdict if self.score is None else f"{self.verdict} {self.score:.2f}"


class Attempt(Model):
    """One replay of a case (``--repeat K`` makes K of them); ``judgement`` when a judge ran."""

    passed: bool
    observed: Observed
    checks: tuple[Check, ...] = ()
    judgement: Judgement | None = None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class CaseReport(Model):
    """A case: the recorded turn, every attempt, and whether all of them passed (pass^k)."""

    id: str
    session_id: str | None = None
    turn: int | None = None
    name: str | None = None
    prompt: str
    recorded: Observed | None = None
    attempts: tuple[Attempt, ...]
    baseline: BaselineVerdict | None = None

    @property
    def passes(self) -> int:
        return sum(1 for a in self.attempts if a.passed)

    @property
    def passed(self) -> bool:
        """pass^k: every one of the ``k`` attempts passed."""
        return bool(self.attempts) and self.passes == len(self.attempts)


class ReportSummary(Model):
    cases: int
    passed: int
    failed: int
    pass_hat_k: float = Field(description="share of cases whose every attempt passed")
    pass_at_1: float = Field(description="share of attempts that passed")
    improved: int = 0
    regressed: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    judge_valid: int = Field(default=0, description="attempts the judge found VALID")
    judge_invalid: int = Field(default=0, description="attempts the judge found INVALID")
    judge_inconclusive: int = Field(
        default=0, description="attempts judged RETRY/NEEDS_SPEC, or not judged (judge error)"
    )


class ReplayReport(Model):
    """The whole run: settings, cases and summary. ``exit_code`` is what the CLI exits with."""

    format: Literal["pyclaw-eval-report"] = REPORT_FORMAT
    version: int = REPORT_VERSION
    created_at: AwareDatetime = Field(default_factory=utcnow)
    settings: dict[str, str | int | bool | None] = Field(default_factory=dict)
    cases: tuple[CaseReport, ...]
    summary: ReportSummary
    baseline: str | None = None

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, else 1. Without a baseline any failing case is a regression
        (against its recording); with one, only cases that passed there (or are new) count."""
        if self.baseline is None:
            return 0 if all(c.passed for c in self.cases) else 1
        bad = [
            c
            for c in self.cases
            if c.baseline == "regressed" or (c.baseline == "new" and not c.passed)
        ]
        return 1 if bad else 0

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, path: Path) -> None:
        atomic_write_text(path, self.to_json() + "\n")


def summarize(cases: tuple[CaseReport, ...], *, seconds: float = 0.0) -> ReportSummary:
    attempts = [a for c in cases for a in c.attempts]
    passed = sum(1 for c in cases if c.passed)
    outcomes = [a.judgement.outcome for a in attempts if a.judgement is not None]
    return ReportSummary(
        cases=len(cases),
        passed=passed,
        failed=len(cases) - passed,
        pass_hat_k=passed / len(cases) if cases else 1.0,
        pass_at_1=sum(1 for a in attempts if a.passed) / len(attempts) if attempts else 1.0,
        improved=sum(1 for c in cases if c.baseline == "improved"),
        regressed=sum(1 for c in cases if c.baseline == "regressed"),
        tokens=sum(a.observed.usage.total_tokens for a in attempts),
        cost_usd=sum(a.observed.cost_usd for a in attempts),
        seconds=seconds,
        judge_valid=outcomes.count("valid"),
        judge_invalid=outcomes.count("invalid"),
        judge_inconclusive=outcomes.count("inconclusive"),
    )


def read_report(path: Path) -> ReplayReport:
    """Load a report written by ``ReplayReport.write``; ``UsageError`` when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the baseline report {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:  # pyright: ignore[reportUnknownMemberType] - json data
            raise EvalError("not a pyclaw eval report")
        return ReplayReport.model_validate(data)
    except (ValueError, ValidationError, EvalError) as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{path} is not a valid eval report: {first}") from exc


def with_baseline(report: ReplayReport, baseline: ReplayReport, name: str) -> ReplayReport:
    """``report`` with each case marked improved / regressed / unchanged / new against
    ``baseline`` (matched by case id), and the summary counts updated."""
    before = {c.id: c.passed for c in baseline.cases}
    marked: list[CaseReport] = []
    for case in report.cases:
        was = before.get(case.id)
        verdict: BaselineVerdict
        if was is None:
            verdict = "new"
        elif was == case.passed:
            verdict = "unchanged"
        else:
            verdict = "improved" if case.passed else "regressed"
        marked.append(case.model_copy(update={"baseline": verdict}))
    cases = tuple(marked)
    summary = summarize(cases, seconds=report.summary.seconds)
    return report.model_copy(update={"cases": cases, "summary": summary, "baseline": name})
