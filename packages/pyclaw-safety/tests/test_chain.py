"""GuardChain: order, composition, veto, failing closed."""

from __future__ import annotations

import pytest

from pyclaw.meta import (
    Guard,
    GuardVetoError,
    LLMRequest,
    LLMResponse,
    Message,
    NoOpGuard,
    ToolCall,
    ToolResult,
)
from pyclaw.safety import GuardChain


class Recorder:
    """Appends its tag to every text it sees, and logs the order it ran in."""

    def __init__(self, tag: str, log: list[str], *, veto: bool = False) -> None:
        self.tag = tag
        self.log = log
        self.veto = veto

    def _step(self, hook: str) -> None:
        self.log.append(f"{self.tag}.{hook}")
        if self.veto:
            raise GuardVetoError(f"{self.tag} says no")

    async def before_llm(self, request: LLMRequest) -> LLMRequest:
        self._step("before_llm")
        return request.model_copy(update={"system": (request.system or "") + self.tag})

    async def after_llm(self, response: LLMResponse) -> LLMResponse:
        self._step("after_llm")
        return response.model_copy(update={"model": response.model + self.tag})

    async def before_tool(self, call: ToolCall) -> ToolCall:
        self._step("before_tool")
        return call.model_copy(update={"name": call.name + self.tag})

    async def after_tool(self, result: ToolResult) -> ToolResult:
        self._step("after_tool")
        return result.model_copy(update={"content": result.content + self.tag})


class Broken(NoOpGuard):
    async def after_tool(self, result: ToolResult) -> ToolResult:
        raise RuntimeError(f"boom with secret content {result.content}")


REQUEST = LLMRequest(model="m", messages=(Message.user("hi"),))
RESPONSE = LLMResponse(model="m", provider="p", message=Message.assistant("ok"))
CALL = ToolCall(name="t")
RESULT = ToolResult(call_id="c", name="t", content="x")


def test_is_a_guard() -> None:
    assert isinstance(GuardChain([]), Guard)


async def test_every_hook_runs_the_guards_in_order_and_composes() -> None:
    log: list[str] = []
    chain = GuardChain([Recorder("A", log), Recorder("B", log), Recorder("C", log)])
    assert (await chain.before_llm(REQUEST)).system == "ABC"
    assert (await chain.after_llm(RESPONSE)).model == "mABC"
    assert (await chain.before_tool(CALL)).name == "tABC"
    assert (await chain.after_tool(RESULT)).content == "xABC"
    hooks = ["before_llm", "after_llm", "before_tool", "after_tool"]
    assert log == [f"{g}.{h}" for h in hooks for g in "ABC"]


async def test_veto_stops_the_chain() -> None:
    log: list[str] = []
    chain = GuardChain([Recorder("A", log), Recorder("B", log, veto=True), Recorder("C", log)])
    with pytest.raises(GuardVetoError, match="B says no"):
        await chain.before_tool(CALL)
    assert log == ["A.before_tool", "B.before_tool"]


async def test_an_empty_chain_changes_nothing() -> None:
    chain = GuardChain([])
    assert await chain.before_llm(REQUEST) is REQUEST
    assert await chain.after_tool(RESULT) is RESULT


async def test_unchanged_values_keep_their_identity() -> None:
    chain = GuardChain([NoOpGuard(), NoOpGuard()])
    assert await chain.after_llm(RESPONSE) is RESPONSE
    assert await chain.before_tool(CALL) is CALL


async def test_a_crashing_guard_fails_closed_without_leaking_its_message() -> None:
    log: list[str] = []
    chain = GuardChain([Broken(), Recorder("A", log)])
    with pytest.raises(GuardVetoError) as caught:
        await chain.after_tool(RESULT.model_copy(update={"content": "sk-secret"}))
    assert str(caught.value) == "guard Broken failed in after_tool (RuntimeError)"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert log == []


async def test_chains_nest() -> None:
    log: list[str] = []
    inner = GuardChain([Recorder("B", log), Recorder("C", log)])
    chain = GuardChain([Recorder("A", log), inner, Recorder("D", log)])
    assert (await chain.after_tool(RESULT)).content == "xABCD"
    assert chain.guards[1] is inner
