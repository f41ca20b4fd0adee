"""``/delegate``: the request (objective, input, consensus block) and a tolerant reading of the
answer (final answer, per-replica evidence, consensus metadata; key names are unpublished)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue

from pyclaw.llm._chat_format import as_list, as_object
from pyclaw.llm._http_errors import malformed_error
from pyclaw.llm.cortensor._aggregate import aggregate_answers
from pyclaw.llm.cortensor._wire import first_text, text_of
from pyclaw.meta import AggregationPolicy, DelegateResult, ReplicaAnswer, new_id

_ANSWER_KEYS = ("answer", "final_answer", "output", "text", "result", "content", "response")
_REPLICA_LISTS = ("replicas", "evidence", "results", "outputs", "responses", "miners")


def delegate_body(
    objective: str,
    *,
    input: str,
    replicas: int,
    policy: AggregationPolicy,
    timeout: float,
    session_id: str | None,
    session_pool: Sequence[str],
) -> dict[str, Any]:
    """The JSON body of ``POST /api/vN/delegate`` (v2 keys plus v3's ``consensus`` block).

    Every replica's answer is asked for (``disagreement_policy`` ``return_all``): the client
    aggregates them itself under ``policy``."""
    consensus: dict[str, Any] = {
        "replicas": replicas,
        "strategy": "majority" if policy == "all" else policy,
        "disagreement_policy": "return_all",
    }
    if session_pool:
        consensus["session_pool"] = list(session_pool)
    body: dict[str, Any] = {
        "objective": objective,
        "input": input,
        "execution": {"timeout": max(1, int(timeout))},
        "policy": {"aggregation": policy},
        "consensus": consensus,
        "metadata": {"client": "pyclaw", "client_reference": new_id("pyclaw")},
    }
    if session_id:
        body["session_id"] = int(session_id) if session_id.isdigit() else session_id
    return body


def _replica_text(item: object) -> str:
    if isinstance(item, str):
        return item
    data = as_object(item)
    if data is None:
        return ""
    text = first_text(data, *_ANSWER_KEYS)
    if text:
        return text
    for choice in map(as_object, as_list(data.get("choices"))):
        if choice is not None and (text := text_of(choice.get("text"))):
            return text
    nested = as_object(data.get("result")) or as_object(data.get("output"))
    return first_text(nested, *_ANSWER_KEYS) if nested is not None else ""


def _label(data: Mapping[str, Any] | None, *keys: str) -> str | None:
    if data is None:
        return None
    for key in keys:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _replica_items(body: Mapping[str, Any]) -> list[Any]:
    places = [body, as_object(body.get("result")), as_object(body.get("results"))]
    for place in places:
        if place is None:
            continue
        for key in (*_REPLICA_LISTS, "data"):
            items = as_list(place.get(key))
            if items and any(_replica_text(i) for i in items):
                return items
    return []


def _final_answer(body: Mapping[str, Any]) -> str:
    text = first_text(body, *_ANSWER_KEYS)
    result = as_object(body.get("result"))
    return text or (first_text(result, *_ANSWER_KEYS) if result is not None else "")


def parse_delegation(
    data: object,
    *,
    provider: str,
    replicas: int,
    policy: AggregationPolicy,
    latency_ms: float | None = None,
) -> DelegateResult:
    """The ``DelegateResult`` for a (decoded, unwrapped) ``/delegate`` answer.

    With per-replica answers they are aggregated here under ``policy``; with only a final answer,
    that answer is taken as is (consensus as the router reported it). Neither is malformed.
    """
    body = as_object(data)
    if body is None:
        raise malformed_error(provider, "the delegate answer is not a JSON object", retryable=False)
    result = as_object(body.get("result"))
    router_consensus = as_object(body.get("consensus")) or (
        as_object(result.get("consensus")) if result is not None else None
    )
    common: dict[str, Any] = {
        "provider": provider,
        "policy": policy,
        "replicas_requested": replicas,
        "task_id": _label(body, "task_id", "id", "request_id"),
        "router_consensus": dict(router_consensus) if router_consensus is not None else None,
        "latency_ms": latency_ms,
        "raw": _json(body),
    }
    items = _replica_items(body)
    if items:
        texts = [_replica_text(i) for i in items]
        outcome = aggregate_answers(texts, policy)
        answers = tuple(
            ReplicaAnswer(
                index=index,
                text=text,
                session_id=_label(as_object(item), "session_id", "session"),
                miner=_label(as_object(item), "miner", "miner_id", "miner_address", "address"),
                status=_label(as_object(item), "status"),
                agrees=outcome.agrees[index],
            )
            for index, (item, text) in enumerate(zip(items, texts, strict=True))
        )
        return DelegateResult(
            answer=outcome.answer,
            replicas=answers,
            agreeing=outcome.agreeing,
            agreement=outcome.agreeing / len(answers),
            consensus=outcome.agreeing * 2 > len(answers),
            disagreement=outcome.distinct > 1,
            **common,
        )
    final = _final_answer(body)
    if not final:
        raise malformed_error(
            provider, "the delegate answer has neither a final answer nor replica outputs"
        )
    reached = router_consensus.get("reached") if router_consensus is not None else None
    return DelegateResult(answer=final.strip(), consensus=reached is True, **common)


def _json(value: Mapping[str, Any]) -> JsonValue:
    return dict(value)
