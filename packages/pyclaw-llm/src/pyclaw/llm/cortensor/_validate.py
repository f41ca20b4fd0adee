"""``/validate``: ask whether a claim (an answer, a candidate output) holds, and read the verdict
tolerantly: a top-level ``verdict``, or per-validator ``binary_classification`` votes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import fmean
from typing import Any

from pyclaw.llm._chat_format import as_list, as_object
from pyclaw.llm._http_errors import malformed_error
from pyclaw.meta import ValidateResult, ValidateVerdict, new_id

_VERDICTS: dict[str, ValidateVerdict] = {
    "VALID": "VALID",
    "PASS": "VALID",
    "PASSED": "VALID",
    "TRUE": "VALID",
    "INVALID": "INVALID",
    "FAIL": "INVALID",
    "FAILED": "INVALID",
    "FALSE": "INVALID",
    "RETRY": "RETRY",
    "NEEDS_SPEC": "NEEDS_SPEC",
    "NEEDSSPEC": "NEEDS_SPEC",
}
_VALIDATOR_LISTS = ("validators", "validations", "results", "evidence", "miners")


def validate_body(
    claim: str, *, context: str, criteria: str, session_id: str | None
) -> dict[str, Any]:
    """The JSON body of ``POST /api/vN/validate``."""
    body: dict[str, Any] = {
        "claim": claim,
        "context": context,
        "policy": {"criteria": criteria} if criteria else {},
        "actor": "pyclaw",
        "metadata": {"client": "pyclaw", "client_reference": new_id("pyclaw")},
    }
    if session_id:
        body["session_id"] = int(session_id) if session_id.isdigit() else session_id
    return body


def _verdict(value: object) -> ValidateVerdict | None:
    if isinstance(value, bool):
        return "VALID" if value else "INVALID"
    if isinstance(value, str):
        return _VERDICTS.get(value.strip().upper().replace("-", "_").replace(" ", "_"))
    return None


def _score(value: object) -> float | None:
    """A confidence in [0, 1]; a percentage (1 < x <= 100) is scaled down."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if number > 1:
        number /= 100
    return None if math.isnan(number) else min(1.0, max(0.0, number))


def _validators(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in _VALIDATOR_LISTS:
        items = [i for i in map(as_object, as_list(body.get(key))) if i is not None]
        if items:
            return items
    return []


def _vote(item: Mapping[str, Any]) -> tuple[bool | None, float | None, str | None]:
    """``(valid, confidence, risk level)`` of one validator's opinion."""
    binary = as_object(item.get("binary_classification")) or {}
    overall = as_object(item.get("overall_assessment")) or {}
    valid = binary.get("valid")
    if not isinstance(valid, bool):
        verdict = _verdict(item.get("verdict"))
        valid = None if verdict is None else verdict == "VALID"
    score = _score(binary.get("confidence_score"))
    if score is None:
        score = _score(overall.get("overall_score"))
    risk = overall.get("risk_level")
    return valid, score, risk if isinstance(risk, str) else None


def _reasons(body: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for item in as_list(body.get("reasons")):
        text = item if isinstance(item, str) else (as_object(item) or {}).get("message")
        if isinstance(text, str) and text.strip():
            found.append(text.strip())
    for key in ("reason", "explanation", "message"):
        text = body.get(key)
        if not found and isinstance(text, str) and text.strip():
            found.append(text.strip())
    return tuple(found)


def parse_validation(
    data: object, *, provider: str, latency_ms: float | None = None
) -> ValidateResult:
    """The ``ValidateResult`` for a (decoded, unwrapped) ``/validate`` answer. A verdict comes
    from the top level (``verdict``), else from the validators' majority (a tie is ``RETRY``);
    the score from ``score``/``confidence``/``overall_assessment``, else the validators' mean."""
    body = as_object(data)
    if body is None:
        raise malformed_error(provider, "the validate answer is not a JSON object", retryable=False)
    raw = dict(body)
    result = as_object(body.get("result"))
    if result is not None and "verdict" in result:
        body = {**body, **result}
    votes = [_vote(v) for v in _validators(body)]
    overall = as_object(body.get("overall_assessment")) or {}
    verdict = _verdict(body.get("verdict")) or _verdict(body.get("valid"))
    ballots = [valid for valid, _, _ in votes if valid is not None]
    if verdict is None and ballots:
        yes = sum(ballots)
        verdict = (
            "VALID" if yes * 2 > len(ballots) else "RETRY" if yes * 2 == len(ballots) else "INVALID"
        )
    if verdict is None:
        raise malformed_error(
            provider, "the validate answer has no verdict and no validator votes", retryable=False
        )
    score = next(
        (
            s
            for s in (
                _score(body.get("score")),
                _score(body.get("confidence")),
                _score(overall.get("overall_score")),
            )
            if s is not None
        ),
        None,
    )
    scores = [s for _, s, _ in votes if s is not None]
    if score is None and scores:
        score = fmean(scores)
    risk = overall.get("risk_level") or body.get("risk_level")
    risks = [r for _, _, r in votes if r]
    return ValidateResult(
        provider=provider,
        verdict=verdict,
        score=score,
        reasons=_reasons(body),
        validators=len(votes),
        risk_level=risk if isinstance(risk, str) else (risks[0] if risks else None),
        latency_ms=latency_ms,
        raw=raw,
    )
