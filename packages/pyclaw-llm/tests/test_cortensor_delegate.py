"""``CortensorClient.delegate``, ``validate``, ``info`` and ``status`` against the fake router,
and the aggregation policies on their own."""

from __future__ import annotations

import pytest

from pyclaw.llm.cortensor import CortensorClient, aggregate_answers, answer_key
from pyclaw.llm.testing import (
    FakeCortensorRouter,
    FakeDelegation,
    FakeValidation,
    HangFault,
    MalformedJSONFault,
    StatusFault,
)
from pyclaw.meta import Delegator, ProviderError, Validator

KEY = "router-key-0123456789"


def client(router: FakeCortensorRouter, **kwargs: object) -> CortensorClient:
    options: dict[str, object] = {"api_key": KEY, "progress_every": None}
    options.update(kwargs)
    return CortensorClient(router.base_url, **options)  # pyright: ignore[reportArgumentType] - test options


async def test_delegate_with_disagreeing_replicas_takes_the_majority() -> None:
    with FakeCortensorRouter(api_key=KEY) as router:
        router.add_delegation(["42", "42.", "41"])
        async with client(router, session_id="12", session_pool=("201", "202", "203")) as cortensor:
            assert isinstance(cortensor, Delegator)
            result = await cortensor.delegate(
                "What is 6 x 7? Answer with the number.", input="arithmetic", replicas=3
            )
    assert result.answer == "42"
    assert [r.text for r in result.replicas] == ["42", "42.", "41"]
    assert [r.agrees for r in result.replicas] == [True, True, False]
    assert [r.session_id for r in result.replicas] == ["201", "202", "203"]
    assert result.replicas[0].miner == "0xminer01"
    assert (result.agreeing, result.consensus, result.disagreement) == (2, True, True)
    assert result.agreement == pytest.approx(2 / 3)
    assert result.task_id is not None
    assert result.task_id.startswith("dlg-")
    assert result.router_consensus is not None
    assert result.router_consensus["replicas"] == 3
    assert isinstance(result.raw, dict)
    assert "replicas" in result.raw
    assert result.metadata()["agreement"] == 0.667
    (sent,) = router.requests
    assert sent.path == "/api/v3/delegate"
    assert sent.body["objective"] == "What is 6 x 7? Answer with the number."
    assert sent.body["input"] == "arithmetic"
    assert sent.body["session_id"] == 12
    assert sent.body["consensus"] == {
        "replicas": 3,
        "strategy": "majority",
        "disagreement_policy": "return_all",
        "session_pool": ["201", "202", "203"],
    }


async def test_delegate_policies_first_and_all() -> None:
    with FakeCortensorRouter() as router:
        router.add_delegation(["Paris", "Lyon", "Lyon"], ["Paris", "Lyon", "Lyon"])
        async with client(router, api_key=None) as cortensor:
            first = await cortensor.delegate("Capital of France?", replicas=3, policy="first")
            every = await cortensor.delegate("Capital of France?", replicas=3, policy="all")
    assert first.answer == "Paris"
    assert (first.agreeing, first.consensus, first.disagreement) == (1, False, True)
    assert every.answer == "(2/3) Lyon\n(1/3) Paris"
    assert [r.agrees for r in every.replicas] == [False, True, True]


async def test_delegate_without_replica_evidence_uses_the_final_answer() -> None:
    with FakeCortensorRouter(envelope=True) as router:
        router.add_delegation(FakeDelegation(answers=("7", "7", "7"), final_only=True))
        async with client(router, api_key=None) as cortensor:
            result = await cortensor.delegate("3 + 4?", replicas=3)
    assert result.answer == "7"
    assert result.replicas == ()
    assert result.consensus is True  # as the router reported it


async def test_delegate_failures_are_clear() -> None:
    with FakeCortensorRouter(api_key=KEY) as router:
        router.add_delegation(
            MalformedJSONFault(body='{"task_id": "t1", "status": "completed"}'),
            StatusFault(429, "slow down", retry_after=1),
            HangFault(seconds=10),
        )
        async with client(router, timeout=0.3) as cortensor:
            with pytest.raises(ProviderError) as malformed:
                await cortensor.delegate("x", replicas=3)
            with pytest.raises(ProviderError) as limited:
                await cortensor.delegate("x")
            with pytest.raises(ProviderError, match=r"timed out after 0\.3 s"):
                await cortensor.delegate("x")
        async with client(router, api_key="wrong") as intruder:
            with pytest.raises(ProviderError, match="HTTP 401 unauthorized: Invalid API key"):
                await intruder.delegate("x")
    assert malformed.value.message == (
        "cortensor: the delegate answer has neither a final answer nor replica outputs"
    )
    assert (limited.value.retryable, limited.value.retry_after) == (True, 1)
    with pytest.raises(ValueError, match="replicas must be at least 1"):
        await CortensorClient("http://127.0.0.1:9").delegate("x", replicas=0)


async def test_validate_pass_and_fail() -> None:
    with FakeCortensorRouter(api_key=KEY) as router:
        router.add_validation(
            FakeValidation(verdict="VALID", score=0.92),
            FakeValidation(verdict="INVALID", score=0.15, reasons=("6 x 7 is 42, not 41.",)),
        )
        async with client(router) as cortensor:
            assert isinstance(cortensor, Validator)
            good = await cortensor.validate("42", context="What is 6 x 7?", criteria="exact")
            bad = await cortensor.validate("41", context="What is 6 x 7?")
    assert (good.verdict, good.passed, good.score, good.validators) == ("VALID", True, 0.92, 3)
    assert good.risk_level == "low"
    assert (bad.verdict, bad.passed, bad.score) == ("INVALID", False, 0.15)
    assert bad.reasons == ("6 x 7 is 42, not 41.",)
    assert isinstance(bad.raw, dict)
    assert bad.raw["verdict"] == "INVALID"
    sent = router.requests[0]
    assert sent.path == "/api/v3/validate"
    assert sent.body["claim"] == "42"
    assert sent.body["context"] == "What is 6 x 7?"
    assert sent.body["policy"] == {"criteria": "exact"}


async def test_validate_reads_the_validators_votes_when_there_is_no_verdict() -> None:
    with FakeCortensorRouter() as router:
        router.add_validation(
            FakeValidation(verdict="INVALID", score=0.3, top_level=False),
            MalformedJSONFault(body='{"reasons": []}'),
        )
        async with client(router, api_key=None) as cortensor:
            derived = await cortensor.validate("the sky is green")
            with pytest.raises(ProviderError, match="no verdict and no validator votes"):
                await cortensor.validate("anything")
    assert (derived.verdict, derived.score, derived.validators) == ("INVALID", 0.3, 3)
    assert derived.risk_level == "high"


async def test_info_and_status() -> None:
    with FakeCortensorRouter(api_key=KEY) as router:
        async with client(router) as cortensor:
            info = await cortensor.info()
            status = await cortensor.status()
    assert info["name"] == "fake-router"
    assert status["connected_miners"] == 4
    assert [(r.method, r.path) for r in router.requests] == [
        ("GET", "/api/v1/info"),
        ("GET", "/api/v1/status"),
    ]


def test_aggregation() -> None:
    assert answer_key("  The  Answer. ") == answer_key("the answer")
    tie = aggregate_answers(["b", "a", "a", "b"], "majority")
    assert (tie.answer, tie.agreeing, tie.distinct) == ("b", 2, 2)
    skipped = aggregate_answers(["", "x", "  "], "first")
    assert (skipped.answer, skipped.agrees) == ("x", (False, True, False))
    assert aggregate_answers(["same", "Same"], "all").answer == "same"
    with pytest.raises(ValueError, match="no replica gave an answer"):
        aggregate_answers(["", " "], "majority")
