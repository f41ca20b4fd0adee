"""``verify = true``: the final answer is judged by a validator before it is given."""

from __future__ import annotations

import asyncio

from pyclaw_brain_fakes import reply

from pyclaw.brain import BrainSettings
from pyclaw.meta import NoteEvent, RunStatus, ValidateResult


class Judge:
    """A validator that answers with a fixed verdict (or fails, or hangs)."""

    name = "judge"

    def __init__(self, verdict: str = "VALID", *, fail: bool = False, hang: bool = False) -> None:
        self.verdict = verdict
        self.fail = fail
        self.hang = hang
        self.asked: list[tuple[str, str]] = []

    async def validate(
        self, claim: str, *, context: str = "", criteria: str = ""
    ) -> ValidateResult:
        del criteria
        self.asked.append((claim, context))
        if self.fail:
            raise ConnectionError("router down")
        if self.hang:
            await asyncio.sleep(60)
        return ValidateResult(
            provider="judge",
            verdict=self.verdict,  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
            score=0.9 if self.verdict == "VALID" else 0.2,
            reasons=() if self.verdict == "VALID" else ("the capital of France is Paris",),
        )


def notes(h) -> list[str]:
    return [p.text for p in h.payloads("note") if isinstance(p, NoteEvent)]


async def test_a_valid_answer_is_given_as_is_and_the_verdict_recorded(h) -> None:
    h.agent = h.agent.model_copy(update={"verify": True})
    judge = Judge("VALID")
    h.llm.script(reply("Paris."))
    result = await h.run("capital of France?", brain=h.brain(validator=judge))
    assert result.status is RunStatus.SUCCEEDED
    assert result.answer is not None
    assert result.answer.text == "Paris."
    assert judge.asked == [("Paris.", "capital of France?")]
    assert notes(h) == ["verify: judge judged the answer VALID, score 0.90"]
    await h.assert_sound()


async def test_an_invalid_answer_says_it_was_not_verified_and_why(h) -> None:
    h.agent = h.agent.model_copy(update={"verify": True})
    h.llm.script(reply("Lyon."))
    result = await h.run("capital of France?", brain=h.brain(validator=Judge("INVALID")))
    assert result.answer is not None
    assert result.answer.text.startswith(
        "Lyon.\n\n⚠ Not verified: judge judged this answer invalid"
    )
    assert "Paris" in result.answer.text
    final = h.payloads("assistant_message")[-1]
    assert final.message == result.answer
    assert "INVALID" in notes(h)[0]


async def test_a_judge_that_fails_or_hangs_never_blocks_the_answer(h) -> None:
    h.agent = h.agent.model_copy(update={"verify": True})
    h.llm.script(reply("Paris."), reply("Paris again."))
    result = await h.run("q", brain=h.brain(validator=Judge(fail=True)))
    assert result.answer is not None
    assert result.answer.text == "Paris."
    assert "could not judge" in notes(h)[0]
    slow = h.brain(validator=Judge(hang=True), settings=BrainSettings(verify_timeout_s=0.1))
    result = await h.run("q", brain=slow)
    assert result.answer is not None
    assert result.answer.text == "Paris again."
    assert "TimeoutError" in notes(h)[1]


async def test_without_verify_the_validator_is_not_asked(h) -> None:
    judge = Judge("INVALID")
    h.llm.script(reply("Lyon."))
    result = await h.run("q", brain=h.brain(validator=judge))
    assert result.answer is not None
    assert result.answer.text == "Lyon."
    assert judge.asked == []
