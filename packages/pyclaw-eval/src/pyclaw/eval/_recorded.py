"""Serving a replay from its recording: tool results, model responses, policy and approvals.

Each object is made for one case from that case's recorded facts. What the replay asks for that
the recording cannot answer is written down as a divergence (``Divergences``) and answered with
an error or a denial: nothing is ever executed for real, and no model is called.
"""

from __future__ import annotations

import contextlib
import operator
from collections import deque
from collections.abc import AsyncIterator, Sequence

from pyclaw.eval._facts import TurnFacts, call_signature
from pyclaw.eval._json import Item, JsonCache
from pyclaw.eval._render import message_lines, unified
from pyclaw.meta import (
    ApprovalDecision,
    ApprovalRequest,
    ErrorInfo,
    Grant,
    LLMRequest,
    LLMResponse,
    NotFoundError,
    PolicyDecision,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolContext,
    ToolResult,
    ToolSpec,
    Verdict,
)

DIVERGENCE = "ReplayDivergence"

_TWINS = 65536
"""At most this many recorded items are remembered with their replayed twins."""


class Divergences:
    """What a replayed turn did that its recording does not match, in the order it happened."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)


class RecordedToolHost:
    """A ``ToolHost`` answering each call with the recorded result of the same call.

    Calls match on tool name and canonical arguments (``ToolCall.call_hash``); identical calls are
    answered in recorded order, and one repeated more often than recorded gets the last recorded
    result again. A call the recording does not have is a divergence: it gets an error result and
    is never executed.
    """

    def __init__(
        self, facts: TurnFacts, specs: Sequence[ToolSpec], divergences: Divergences
    ) -> None:
        self._specs = list(specs)
        self.executed: list[ToolCall] = []
        """The calls answered from the recording, in order."""
        self.load(facts, divergences)

    def load(self, facts: TurnFacts, divergences: Divergences) -> None:
        """Serve another turn's recording from now on."""
        self._divergences = divergences
        self._served: dict[str, deque[ToolResult]] = {}
        self._last: dict[str, ToolResult] = {}
        for call in facts.calls:
            result = facts.result_for(call)
            if result is not None:
                self._served.setdefault(call.call_hash, deque()).append(result)

    def list_tools(self) -> list[ToolSpec]:
        return list(self._specs)

    def offer(self, specs: Sequence[ToolSpec]) -> None:
        """Offer these tools to the model instead (e.g. the agent's current ones)."""
        self._specs = list(specs)

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        del context
        queue = self._served.get(call.call_hash)
        recorded = queue.popleft() if queue else self._last.get(call.call_hash)
        if recorded is None:
            text = f"tool call not in the recording: {call_signature(call)}"
            self._divergences.add(text)
            return ToolResult(
                call_id=call.id,
                name=call.name,
                status="error",
                content=f"Replay: {text} (it was not executed).",
                error=ErrorInfo(type=DIVERGENCE, message=text),
            )
        self._last[call.call_hash] = recorded
        self.executed.append(call)
        return recorded.model_copy(update={"call_id": call.id, "name": call.name})


class RecordedProvider:
    """An ``LLMProvider`` serving the turn's recorded responses in order (``--strict``).

    Each request is checked against the recorded request at the same position (its messages and
    tools: what the code derived); a difference is a divergence, with a readable diff, and the
    recorded response is served anyway so the rest of the turn shows too. A recorded provider
    error is raised again; asking for more responses than were recorded is a divergence and a
    ``ProviderError``. Messages and tools are compared by their JSON (``json`` remembers it per
    object, so a long prompt costs only its new messages), and only when that differs, as models.
    """

    def __init__(
        self, facts: TurnFacts, divergences: Divergences, *, json: JsonCache | None = None
    ) -> None:
        self._name = facts.llm[0].provider if facts.llm else "recorded"
        self._json = json or JsonCache()
        self._twins: dict[int, Item] = {}
        """``id`` of a recorded item -> a replayed item known to be equal to it."""
        self._kept: dict[int, Item] = {}
        """The recorded items of ``_twins``, kept alive so their ``id`` is not reused."""
        self.load(facts, divergences)

    def load(self, facts: TurnFacts, divergences: Divergences) -> None:
        """Serve another turn's recording from now on."""
        self._exchanges = deque(facts.llm)
        self._divergences = divergences
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def remaining(self) -> int:
        return len(self._exchanges)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.calls += 1
        if not self._exchanges:
            text = f"model call {self.calls} is not in the recording"
            self._divergences.add(text)
            raise ProviderError(f"replay: {text}", provider=self._name)
        exchange = self._exchanges.popleft()
        if exchange.request is not None:
            self._check(exchange.request, request)
        if exchange.response is None:
            error = exchange.error
            message = error.message if error is not None else "the recorded call failed"
            raise ProviderError(message, provider=exchange.provider)
        return exchange.response

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamEvent]:
        response = await self.complete(request)
        if response.message.text:
            yield TextDelta(text=response.message.text)
        yield ResponseDone(response=response)

    def _check(self, recorded: LLMRequest, actual: LLMRequest) -> None:
        where = f"model call {self.calls}"
        if not self._same(recorded.tools, actual.tools):
            before = [s.model_dump_json() for s in recorded.tools]
            after = [s.model_dump_json() for s in actual.tools]
            self._divergences.add(f"{where}: the tools offered differ\n{unified(before, after)}")
        if not self._same(recorded.messages, actual.messages):
            before = message_lines(recorded.messages)
            after = message_lines(actual.messages)
            diff = unified(before, after) or "(the messages differ in details not shown)"
            self._divergences.add(f"{where}: the prompt messages differ\n{diff}")

    def _same(self, recorded: Sequence[Item], actual: Sequence[Item]) -> bool:
        """Equal items: each with the same JSON (what a log stores), or else equal as a model.

        A recorded item found equal to a replayed one is remembered with it (both immutable), so
        the next request, repeating most of this one's messages, is mostly an identity check."""
        if len(recorded) != len(actual):
            return False
        twins, text = self._twins, self._json.text
        known = list(map(twins.get, map(id, recorded)))
        unknown = list(map(operator.is_not, known, actual))
        at = -1
        with contextlib.suppress(ValueError):  # no (more) pairs to compare
            while True:
                at = unknown.index(True, at + 1)
                r, a = recorded[at], actual[at]
                if text(r) != text(a) and r != a:
                    return False
                if len(twins) >= _TWINS:
                    twins.clear()
                    self._kept.clear()
                twins[id(r)] = a
                self._kept[id(r)] = r
        return True


class RecordedPolicy:
    """A ``PolicyEngine`` giving each call the decisions recorded for the same call, in order.

    A call the recording never checked is allowed (the tool host then reports it, if the
    recording has no result for it either). Grants are neither created nor listed: a replay
    changes no permission.
    """

    def __init__(self, facts: TurnFacts) -> None:
        self.load(facts)

    def load(self, facts: TurnFacts) -> None:
        """Serve another turn's recording from now on."""
        self._decisions = {k: deque(v) for k, v in facts.policy.items()}

    async def check(self, call: ToolCall, spec: ToolSpec, context: ToolContext) -> PolicyDecision:
        del spec, context
        queue = self._decisions.get(call.call_hash)
        if queue:
            return queue.popleft()
        return PolicyDecision(
            verdict=Verdict.ALLOW,
            reason="replay: no policy decision was recorded for this call",
            tool=call.name,
            call_hash=call.call_hash,
            rule="replay",
        )

    async def decide(self, request: ApprovalRequest, decision: ApprovalDecision) -> Grant | None:
        del request, decision
        return None

    async def list_grants(self, *, include_inactive: bool = False) -> list[Grant]:
        del include_inactive
        return []

    async def revoke(self, grant_id: str) -> Grant:
        raise NotFoundError(f"no grant {grant_id} in a replay")


class RecordedApprover:
    """An ``Approver`` answering with the verdict recorded for the same call (by ``call_hash``).

    A request the recording has no answer for is denied (``decided_by="replay"``): no human is
    asked during a replay.
    """

    def __init__(self, facts: TurnFacts) -> None:
        self.asked: list[ApprovalRequest] = []
        self.load(facts)

    def load(self, facts: TurnFacts) -> None:
        """Serve another turn's recording from now on."""
        self._answers: dict[str, deque[ApprovalDecision]] = {}
        asked = {r.id: r.call_hash for r in facts.approvals}
        for decision in facts.decisions:
            key = asked.get(decision.request_id, decision.call_hash)
            self._answers.setdefault(key, deque()).append(decision)

    async def request_approval(self, request: ApprovalRequest) -> ApprovalDecision:
        self.asked.append(request)
        queue = self._answers.get(request.call_hash)
        recorded = queue.popleft() if queue else None
        if recorded is None:
            return ApprovalDecision(
                request_id=request.id,
                call_hash=request.call_hash,
                verdict=Verdict.DENY,
                decided_by="replay",
            )
        return recorded.model_copy(
            update={"request_id": request.id, "call_hash": request.call_hash}
        )
