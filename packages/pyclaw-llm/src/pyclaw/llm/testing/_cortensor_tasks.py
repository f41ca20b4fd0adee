"""What the fake Cortensor router answers on ``/delegate`` and ``/validate``.

Cortensor has not published these response schemas; the fake answers in one plausible shape
(documented on each builder) so that the client's tolerant parsing is exercised end to end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pyclaw.llm.testing._http import JSONObject, json_object

Verdict = Literal["VALID", "INVALID", "RETRY", "NEEDS_SPEC"]


@dataclass(frozen=True)
class FakeDelegation:
    """The replicas' answers to one delegated task (one string per replica, in order).

    With fewer answers than the request's ``consensus.replicas`` the last one is repeated; with
    ``answers`` empty every replica echoes the objective. ``final_only`` answers with the final
    answer alone (no per-replica evidence), as a router that aggregates by itself might.
    ``delay`` seconds pass before the answer.
    """

    answers: Sequence[str] = ()
    final_only: bool = False
    delay: float = 0.0


@dataclass(frozen=True)
class FakeValidation:
    """One validation: the verdict, a confidence ``score`` in [0, 1], reasons, and how many
    ``validators`` voted. ``top_level=False`` leaves the top-level verdict and score out, so the
    client must read them from the validators' ``binary_classification`` votes."""

    verdict: Verdict = "VALID"
    score: float = 0.9
    reasons: Sequence[str] = ("The claim is consistent with the context.",)
    validators: int = 3
    top_level: bool = True
    delay: float = 0.0
    extra: JSONObject = field(default_factory=dict[str, Any])


def requested_replicas(body: JSONObject) -> int:
    consensus = json_object(body.get("consensus")) or {}
    replicas = consensus.get("replicas", 1)
    return replicas if isinstance(replicas, int) and replicas > 0 else 1


def delegation_body(plan: FakeDelegation, request: JSONObject, task_id: str) -> JSONObject:
    """``{"task_id", "status", "objective", "result": {"answer"}, "replicas": [{"index",
    "session_id", "miner", "status", "output"}], "consensus": {"strategy", "replicas",
    "agreeing", "agreement", "reached", "disagreement_policy"}}``; the router's own answer is
    the most common one (exact text)."""
    count = requested_replicas(request)
    objective = str(request.get("objective", ""))
    answers = list(plan.answers) or [f"echo: {objective}"]
    answers = (answers + [answers[-1]] * count)[:count] if len(answers) < count else answers
    consensus = json_object(request.get("consensus")) or {}
    raw_pool: object = consensus.get("session_pool")
    pool = [str(s) for s in cast("list[object]", raw_pool)] if isinstance(raw_pool, list) else []
    top, votes = Counter(answers).most_common(1)[0]
    summary: JSONObject = {
        "strategy": consensus.get("strategy", "majority"),
        "replicas": len(answers),
        "agreeing": votes,
        "agreement": round(votes / len(answers), 3),
        "reached": votes * 2 > len(answers),
        "disagreement_policy": consensus.get("disagreement_policy", "best_effort"),
    }
    body: JSONObject = {
        "task_id": task_id,
        "status": "completed",
        "objective": objective,
        "result": {"answer": top},
        "consensus": summary,
    }
    if not plan.final_only:
        body["replicas"] = [
            {
                "index": i,
                "session_id": pool[i] if i < len(pool) else str(201 + i),
                "miner": f"0xminer{i + 1:02d}",
                "status": "completed",
                "output": text,
            }
            for i, text in enumerate(answers)
        ]
    return body


def validation_body(plan: FakeValidation) -> JSONObject:
    """``{"verdict", "score", "reasons", "validators": [{"session_id", "binary_classification":
    {"valid", "confidence_score"}, "overall_assessment": {"overall_score", "risk_level"}}]}``
    (scores per validator on 0-100 in ``overall_score``, as one community client reads them)."""
    valid = plan.verdict == "VALID"
    risk = "low" if valid else "high"
    validators = [
        {
            "session_id": str(301 + i),
            "binary_classification": {"valid": valid, "confidence_score": plan.score},
            "overall_assessment": {"overall_score": round(plan.score * 100), "risk_level": risk},
        }
        for i in range(plan.validators)
    ]
    body: JSONObject = {"validators": validators, "reasons": list(plan.reasons), **plan.extra}
    if plan.top_level:
        body = {"verdict": plan.verdict, "score": plan.score, **body}
    return body
