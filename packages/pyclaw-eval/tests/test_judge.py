"""The judge: a ``Validator`` asked about every replayed answer; its verdict on the report, the
``judge`` check, what an outage does, caching under ``--repeat``, redaction, HTML and suites."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pyclaw_eval_minibrain import ScriptModel, record, recorded_brain

from pyclaw.eval import (
    AnswerJudge,
    RecordedSession,
    ReplayOptions,
    ReplayReport,
    load_suite,
    read_report,
    read_session,
    render_html,
    replay,
    run_suite,
)
from pyclaw.meta import ProviderError, ValidateResult, ValidateVerdict, Validator

Decide = Callable[[str, str], ValidateResult]


class FakeValidator:
    """Answers with ``decide(claim, context)``; keeps every question asked."""

    def __init__(self, decide: Decide) -> None:
        self.decide = decide
        self.asked: list[tuple[str, str, str]] = []

    @property
    def name(self) -> str:
        return "router"

    async def validate(
        self, claim: str, *, context: str = "", criteria: str = ""
    ) -> ValidateResult:
        self.asked.append((claim, context, criteria))
        return self.decide(claim, context)


def verdict(value: ValidateVerdict, score: float | None = 0.9, why: str = "") -> Decide:
    def decide(claim: str, context: str) -> ValidateResult:
        del claim, context
        reasons = (why,) if why else ()
        return ValidateResult(provider="router", verdict=value, score=score, reasons=reasons)

    return decide


def down(claim: str, context: str) -> ValidateResult:
    del claim, context
    raise ProviderError("router: connection failed: [Errno 111] Connection refused")


async def replay_two(
    validator: Validator, *, repeat: int = 1, strict: bool = True, **judge: object
) -> ReplayReport:
    rec = await record(
        [("What is 6 x 7?", ["42"]), ("And 6 x 8?", ["48"])],
    )
    session = read_session(rec.session_id, await rec.log.read(rec.session_id))
    options = ReplayOptions(
        strict=strict,
        repeat=repeat,
        judge=AnswerJudge(validator, **judge),  # pyright: ignore[reportArgumentType] - test kwargs
    )
    return await replay([session], recorded_brain(), options)


def checks(report: ReplayReport, case: int = 0) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in report.cases[case].attempts[0].checks}


async def test_valid_verdicts_pass_and_are_on_the_report(tmp_path: Path) -> None:
    judge = FakeValidator(verdict("VALID", 0.93))
    report = await replay_two(judge, criteria="a number")
    assert report.exit_code == 0
    assert judge.asked == [("42", "What is 6 x 7?", "a number"), ("48", "And 6 x 8?", "a number")]
    assert checks(report)["judge"] == (True, "router: VALID 0.93")
    assert report.settings["judge"] == "router"
    s = report.summary
    assert (s.judge_valid, s.judge_invalid, s.judge_inconclusive) == (2, 0, 0)
    path = tmp_path / "r.json"
    report.write(path)
    data = json.loads(path.read_text())
    first = data["cases"][0]["attempts"][0]["judgement"]
    assert (first["verdict"], first["score"], first["judge"]) == ("VALID", 0.93, "router")
    assert read_report(path).cases[1].attempts[0].judgement == report.cases[1].attempts[0].judgement


async def test_an_invalid_verdict_fails_the_case_with_the_reason() -> None:
    def decide(claim: str, context: str) -> ValidateResult:
        del context
        bad = claim == "48"
        return ValidateResult(
            provider="router",
            verdict="INVALID" if bad else "VALID",
            score=0.2 if bad else 0.9,
            reasons=("6 x 8 is 48, but the validators disagree",) if bad else (),
        )

    report = await replay_two(FakeValidator(decide))
    assert [c.passed for c in report.cases] == [True, False]
    assert report.exit_code == 1
    ok, detail = checks(report, 1)["judge"]
    assert not ok
    assert (
        detail == "router judged the answer INVALID 0.20: 6 x 8 is 48, but the validators disagree"
    )
    assert [c.name for c in report.cases[1].attempts[0].failures] == ["judge"]
    html = render_html(report)
    assert '<span class="fail">INVALID 0.20</span>' in html
    assert "<th>judge</th>" in html
    assert "1 valid, 1 invalid, 0 inconclusive" in html


async def test_retry_and_needs_spec_are_inconclusive_and_fail() -> None:
    for value in ("RETRY", "NEEDS_SPEC"):
        report = await replay_two(FakeValidator(verdict(value, None, "validators split")))
        ok, detail = checks(report)["judge"]
        assert not ok
        assert detail == f"router could not decide ({value}): validators split"
        assert report.summary.judge_inconclusive == 2
        assert report.exit_code == 1


async def test_an_outage_is_reported_per_attempt_and_stops_asking() -> None:
    judge = FakeValidator(down)
    rec = await record([(f"q{i}", [f"a{i}"]) for i in range(5)])
    session = read_session(rec.session_id, await rec.log.read(rec.session_id))
    options = ReplayOptions(strict=True, judge=AnswerJudge(judge, max_errors=2))
    report = await replay([session], recorded_brain(), options)
    assert len(judge.asked) == 2  # then the judge is no longer asked
    details = [c.attempts[0].failures[0].detail for c in report.cases]
    assert details[0] == (
        "router could not judge the answer: router: connection failed: [Errno 111] Connection "
        "refused"
    )
    assert details[4].startswith("router could not judge the answer: not asked: the judge failed")
    assert all(c.attempts[0].judgement.error for c in report.cases)  # pyright: ignore[reportOptionalMemberAccess]
    assert report.summary.judge_inconclusive == 5
    assert report.exit_code == 1
    # everything but the judge passed: the other checks are untouched
    assert {c.name for case in report.cases for c in case.attempts[0].failures} == {"judge"}


async def test_an_unexpected_exception_is_recorded_not_raised() -> None:
    def crash(claim: str, context: str) -> ValidateResult:
        raise RuntimeError("boom")

    report = await replay_two(FakeValidator(crash))
    assert checks(report)["judge"] == (
        False,
        "router could not judge the answer: RuntimeError: boom",
    )


async def test_repeats_of_the_same_answer_ask_once_and_secrets_are_redacted() -> None:
    class Redact:
        def redact(self, text: str) -> str:
            return text.replace("7", "[redacted]")

    judge = FakeValidator(verdict("VALID"))
    report = await replay_two(judge, repeat=3, redactor=Redact())
    assert report.summary.judge_valid == 6
    assert judge.asked == [("42", "What is 6 x [redacted]?", ""), ("48", "And 6 x 8?", "")]


async def test_no_answer_is_not_sent_and_fails() -> None:
    judge = FakeValidator(verdict("VALID"))
    rec = await record([("hi", ["hello"])])
    session = read_session(rec.session_id, await rec.log.read(rec.session_id))
    options = ReplayOptions(judge=AnswerJudge(judge))
    report = await replay([session], recorded_brain(ScriptModel(["   "])), options)
    assert judge.asked == []
    assert checks(report)["judge"] == (False, "router: the turn gave no answer to judge")


async def test_suites_are_judged_too(tmp_path: Path) -> None:
    rec = await record([("notes?", ["buy milk"])])
    path = tmp_path / "suite.toml"
    path.write_text(
        f'[[cases]]\nsession = "{rec.session_id}"\n[[cases]]\nname = "hi"\nprompt = "Say hi"\n'
    )

    async def load(session_id: str) -> RecordedSession:
        return read_session(session_id, await rec.log.read(session_id))

    judge = FakeValidator(verdict("VALID"))
    model = ScriptModel(lambda r: "buy milk" if r.messages[0].text == "notes?" else "hi!")
    report = await run_suite(
        load_suite(path),
        load_session=load,
        make_brain=recorded_brain(model),
        default_agent="main",
        judge=AnswerJudge(judge),
    )
    assert report.exit_code == 0
    assert [a[0] for a in judge.asked] == ["buy milk", "hi!"]
    assert report.settings["judge"] == "router"
