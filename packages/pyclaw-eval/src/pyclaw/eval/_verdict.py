"""A second opinion on replayed answers: ``AnswerJudge`` asks a ``Validator`` (e.g. a Cortensor
router, through pyclaw-meta's protocol) whether each replayed final answer holds, given the
user's message, and turns what it says into the attempt's ``judge`` check.

- ``VALID``: the check is ok.
- ``INVALID``: the check fails, so the case fails.
- ``RETRY``, ``NEEDS_SPEC`` (the validators could not decide), an error of the judge (router
  unreachable, timeout, an answer without a verdict) and a turn with no final answer are
  *inconclusive*: the check is not ok, with the reason, so the case fails too. A gate that asked
  for a second opinion and got none does not pass; the report counts these attempts apart
  (``ReportSummary.judge_inconclusive``) so that an outage is told from a wrong answer.

An error never escapes: it is recorded on the attempt. After ``max_errors`` errors in a row the
judge is not asked again during this replay (each later attempt says so), so an outage costs a
few timeouts, not one per case. Verdicts are cached per (answer, message): ``--repeat`` of a
deterministic replay asks once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyclaw.eval._report import Check, Judgement
from pyclaw.meta import PyClawError, Redactor, ValidateResult, Validator

MAX_ERRORS = 3
"""Errors in a row after which the judge is no longer asked during a replay."""


@dataclass
class AnswerJudge:
    """Asks ``validator`` about each replayed answer (the claim), the user's message as context.

    ``criteria`` is passed on to the validator as is. ``redactor`` removes secrets from what is
    sent (the judge is usually a remote service).
    """

    validator: Validator
    criteria: str = ""
    redactor: Redactor | None = None
    max_errors: int = MAX_ERRORS
    _cache: dict[tuple[str, str], Judgement] = field(
        default_factory=dict[tuple[str, str], Judgement], init=False, repr=False
    )
    _errors: int = field(default=0, init=False, repr=False)
    _last_error: str = field(default="", init=False, repr=False)

    @property
    def name(self) -> str:
        return self.validator.name

    async def judge(self, message: str, answer: str | None) -> Judgement:
        """The judge's opinion of ``answer`` to ``message``; never raises ``Exception``."""
        if answer is None or not answer.strip():
            return Judgement(judge=self.name, reasons=("the turn gave no answer to judge",))
        if self._errors >= self.max_errors:
            what = f"not asked: the judge failed {self._errors} times in a row ({self._last_error})"
            return Judgement(judge=self.name, error=what)
        claim, context = self._redact(answer), self._redact(message)
        cached = self._cache.get((claim, context))
        if cached is not None:
            return cached
        try:
            result = await self.validator.validate(claim, context=context, criteria=self.criteria)
        except PyClawError as exc:
            return self._failed(exc.message)
        except Exception as exc:  # noqa: BLE001 - a judge outage is reported, never a crash
            return self._failed(f"{type(exc).__name__}: {exc}")
        self._errors = 0
        judgement = _judgement(self.name, result)
        if judgement.outcome != "inconclusive":
            self._cache[(claim, context)] = judgement
        return judgement

    def _redact(self, text: str) -> str:
        return text if self.redactor is None else self.redactor.redact(text)

    def _failed(self, message: str) -> Judgement:
        self._errors += 1
        self._last_error = message.splitlines()[0] if message else "unknown error"
        return Judgement(judge=self.name, error=self._last_error)


def _judgement(name: str, result: ValidateResult) -> Judgement:
    return Judgement(
        judge=result.provider or name,
        verdict=result.verdict,
        score=result.score,
        reasons=result.reasons,
        validators=result.validators,
        risk_level=result.risk_level,
        latency_ms=result.latency_ms,
    )


def judgement_check(judgement: Judgement) -> Check:
    """The ``judge`` check of an attempt: ok only for ``VALID``."""
    label = judgement.label()
    reason = judgement.reasons[0] if judgement.reasons else ""
    if judgement.outcome == "valid":
        return Check(name="judge", ok=True, detail=f"{judgement.judge}: {label}")
    if judgement.error is not None:
        detail = f"{judgement.judge} could not judge the answer: {judgement.error}"
    elif judgement.verdict is None:
        detail = f"{judgement.judge}: {reason or 'nothing to judge'}"
    elif judgement.outcome == "invalid":
        detail = f"{judgement.judge} judged the answer {label}"
    else:
        detail = f"{judgement.judge} could not decide ({label})"
    if reason and judgement.verdict is not None:
        detail += f": {reason}"
    diff = "\n".join(judgement.reasons[1:]) if judgement.verdict is not None else ""
    return Check(name="judge", ok=False, detail=detail, diff=diff)
