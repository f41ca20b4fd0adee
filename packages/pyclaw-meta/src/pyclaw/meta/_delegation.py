"""Delegation and validation: handing a self-contained sub-task to a remote network (Cortensor)
and asking it whether an output is sound.

``Delegator`` and ``Validator`` are the contracts (the ``delegate`` tool, the eval judge and the
brain's verification hook depend only on them); ``DelegateResult`` and ``ValidateResult`` are what
they return, with the remote service's whole answer kept in ``raw`` for the audit trail.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import Field, JsonValue

from pyclaw.meta._base import Model

AggregationPolicy = Literal["majority", "first", "all"]
"""How the answers of several replicas become one: the most common answer, the first one to
arrive, or every distinct answer with its vote count."""

ValidateVerdict = Literal["VALID", "INVALID", "RETRY", "NEEDS_SPEC"]
"""A validation's outcome: usable, not usable, ask again, or the claim is too vague to judge."""


class ReplicaAnswer(Model):
    """One replica's answer to a delegated task. ``agrees`` says whether it matches the
    aggregated answer (answers are compared case- and whitespace-insensitively)."""

    index: int = Field(ge=0)
    text: str
    session_id: str | None = None
    miner: str | None = None
    status: str | None = None
    agrees: bool = False


class DelegateResult(Model):
    """The aggregated outcome of a delegated task, with its consensus metadata.

    ``agreeing`` replicas gave the chosen ``answer``; ``agreement`` is ``agreeing / len(replicas)``;
    ``consensus`` is true when a strict majority agreed; ``disagreement`` when the replicas gave
    more than one distinct answer. ``router_consensus`` is what the remote service itself said
    about consensus (verbatim, when it said anything); ``raw`` its whole response.
    """

    provider: str
    answer: str
    policy: AggregationPolicy
    replicas_requested: int = Field(ge=1)
    replicas: tuple[ReplicaAnswer, ...] = ()
    agreeing: int = Field(default=0, ge=0)
    agreement: float = Field(default=0.0, ge=0.0, le=1.0)
    consensus: bool = False
    disagreement: bool = False
    task_id: str | None = None
    router_consensus: dict[str, JsonValue] | None = None
    latency_ms: float | None = None
    raw: JsonValue = None

    def metadata(self) -> dict[str, JsonValue]:
        """The consensus metadata as a small JSON object (no answers, no raw response)."""
        return {
            "provider": self.provider,
            "policy": self.policy,
            "replicas_requested": self.replicas_requested,
            "replicas_answered": len(self.replicas),
            "agreeing": self.agreeing,
            "agreement": round(self.agreement, 3),
            "consensus": self.consensus,
            "disagreement": self.disagreement,
            "task_id": self.task_id,
        }


class ValidateResult(Model):
    """A validation's verdict. ``score`` is a confidence in ``[0, 1]`` when the service gave one;
    ``validators`` counts the validation sessions whose opinions were aggregated."""

    provider: str
    verdict: ValidateVerdict
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    reasons: tuple[str, ...] = ()
    validators: int = Field(default=0, ge=0)
    risk_level: str | None = None
    latency_ms: float | None = None
    raw: JsonValue = None

    @property
    def passed(self) -> bool:
        """Whether the output may be used (verdict ``VALID``)."""
        return self.verdict == "VALID"


@runtime_checkable
class Delegator(Protocol):
    """Sends a self-contained task to remote workers and aggregates their answers.

    Raises ``ProviderError`` when the service cannot be reached or answers nonsense.
    """

    @property
    def name(self) -> str: ...

    async def delegate(
        self,
        objective: str,
        *,
        input: str = "",
        replicas: int = 1,
        policy: AggregationPolicy = "majority",
    ) -> DelegateResult: ...


@runtime_checkable
class Validator(Protocol):
    """Asks a remote service whether ``claim`` (an answer, a candidate output) holds, given
    ``context`` (the question, the source text) and optional ``criteria``."""

    @property
    def name(self) -> str: ...

    async def validate(
        self, claim: str, *, context: str = "", criteria: str = ""
    ) -> ValidateResult: ...
