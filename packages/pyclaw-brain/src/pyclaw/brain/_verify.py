"""The reflect step's optional check: an agent with ``verify = true`` has its final answer judged
by a ``Validator`` (e.g. Cortensor's validate surface) before it is given.

The verdict is recorded as a note on the audit trail. A ``VALID`` answer is given as it is; any
other verdict keeps the answer but says plainly that it was not verified, and why. A validator
that fails or times out is recorded as a warning and the answer goes out unverified: a remote
judge being down never blocks an answer.
"""

from __future__ import annotations

import asyncio

from pyclaw.brain._state import Collaborators, RunState
from pyclaw.meta import Message, NoteEvent


async def verify_answer(c: Collaborators, st: RunState, answer: Message) -> Message:
    """``answer`` as it should be given after the validator's verdict (see the module doc)."""
    validator = c.validator
    if validator is None or not c.agent.verify or not answer.text.strip():
        return answer
    question = st.request.input.text
    try:
        async with asyncio.timeout(c.settings.verify_timeout_s):
            result = await validator.validate(answer.text, context=question)
    except Exception as exc:  # noqa: BLE001 - an unreachable judge never blocks the answer
        st.recorder.stage(
            NoteEvent(
                text=f"verify: {validator.name} could not judge the answer "
                f"({type(exc).__name__}: {exc}); it was given unverified",
                level="warning",
            )
        )
        return answer
    score = "" if result.score is None else f", score {result.score:.2f}"
    reasons = f": {'; '.join(result.reasons)}" if result.reasons else ""
    st.recorder.stage(
        NoteEvent(
            text=f"verify: {result.provider} judged the answer {result.verdict}{score}{reasons}",
            level="info" if result.passed else "warning",
        )
    )
    if result.passed:
        return answer
    why = result.reasons[0] if result.reasons else "no reason given"
    return Message.assistant(
        f"{answer.text}\n\n⚠ Not verified: {result.provider} judged this answer "
        f"{result.verdict.lower().replace('_', ' ')} ({why})."
    )
