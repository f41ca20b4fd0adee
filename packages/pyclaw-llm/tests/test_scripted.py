"""ScriptedProvider and FunctionProvider: replies, recorded requests, usage, errors, latency."""

from __future__ import annotations

import asyncio
import time

import pytest

from pyclaw.llm import FunctionProvider, ScriptedProvider, estimate_usage
from pyclaw.meta import (
    ImagePart,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    Message,
    ProviderError,
    StopReason,
    TextPart,
    ToolCall,
    ToolResult,
    Usage,
)


def request(text: str = "hello", *, system: str | None = None, model: str = "m-1") -> LLMRequest:
    return LLMRequest(model=model, messages=(Message.user(text),), system=system)


def test_both_satisfy_the_protocol() -> None:
    providers: list[LLMProvider] = [
        ScriptedProvider(),
        FunctionProvider(lambda r: "ok"),
    ]  # static check
    for provider in providers:
        assert isinstance(provider, LLMProvider)


async def test_text_reply() -> None:
    provider = ScriptedProvider(["Hi there!"], name="script-a")
    response = await provider.complete(request(model="gpt-x"))
    assert response.message == Message.assistant("Hi there!")
    assert response.message.role == "assistant"
    assert response.stop_reason is StopReason.END_TURN
    assert response.model == "gpt-x"
    assert response.provider == "script-a"
    assert response.latency_ms is None


async def test_tool_call_reply() -> None:
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Oslo"})
    response = await ScriptedProvider([call]).complete(request())
    assert response.message.tool_calls == (call,)
    assert response.message.text == ""
    assert response.stop_reason is StopReason.TOOL_USE


async def test_several_tool_calls_in_one_turn() -> None:
    calls = [ToolCall(name="a"), ToolCall(name="b", arguments={"x": [1, {"y": None}]})]
    response = await ScriptedProvider([calls]).complete(request())
    assert response.message.tool_calls == tuple(calls)
    assert response.stop_reason is StopReason.TOOL_USE


async def test_replies_come_in_order_and_requests_are_recorded() -> None:
    provider = ScriptedProvider(["one", "two"])
    provider.add("three")
    assert provider.remaining == 3
    answers = [(await provider.complete(request(f"q{i}"))).message.text for i in range(3)]
    assert answers == ["one", "two", "three"]
    assert [r.messages[0].text for r in provider.requests] == ["q0", "q1", "q2"]
    assert provider.remaining == 0


async def test_running_out_of_script_is_a_clear_provider_error() -> None:
    provider = ScriptedProvider(["only"], name="s")
    await provider.complete(request())
    with pytest.raises(ProviderError) as info:
        await provider.complete(request("second"))
    assert (
        info.value.message
        == "scripted provider 's' has no reply left for request #2 (its script held 1)"
    )
    assert info.value.retryable is False
    assert "ScriptedProvider.add()" in str(info.value)
    assert provider.requests[-1].messages[0].text == "second"  # recorded all the same


async def test_scripted_exception_is_raised() -> None:
    failure = ProviderError("rate limited", retryable=True)
    provider = ScriptedProvider([failure, "after retry"])
    with pytest.raises(ProviderError, match="rate limited") as info:
        await provider.complete(request())
    assert info.value is failure
    assert (await provider.complete(request())).message.text == "after retry"


@pytest.mark.parametrize("bad", [42, None, [], ["text", ToolCall(name="x")], {"text": "hi"}])
def test_invalid_replies_are_refused_up_front(bad: object) -> None:
    with pytest.raises(TypeError, match="a scripted reply is"):
        ScriptedProvider([bad])  # pyright: ignore[reportArgumentType] - the point of the test
    with pytest.raises(TypeError, match="a scripted reply is"):
        ScriptedProvider().add(bad)  # pyright: ignore[reportArgumentType] - the point of the test


async def test_full_response_is_kept_and_missing_fields_filled() -> None:
    given = LLMResponse(
        model="other-model",
        provider="recorded",
        message=Message.assistant("done", (ToolCall(id="c", name="t"),)),
        response_id="resp_1",
    )
    response = await ScriptedProvider([given]).complete(request())
    assert response.model == "other-model"
    assert response.provider == "recorded"
    assert response.response_id == "resp_1"
    assert response.message == given.message
    assert response.stop_reason is StopReason.TOOL_USE  # derived: it has a tool call
    assert response.usage == estimate_usage(request(), given.message)


async def test_full_response_keeps_the_usage_and_stop_reason_it_sets() -> None:
    given = LLMResponse(
        model="m",
        provider="p",
        message=Message.assistant("cut"),
        usage=Usage(input_tokens=100, output_tokens=7),
        stop_reason=StopReason.MAX_TOKENS,
    )
    response = await ScriptedProvider([given]).complete(request())
    assert response == given


async def test_usage_is_ceil_of_characters_over_four() -> None:
    req = LLMRequest(
        model="m",
        system="abcd",  # 4
        messages=(
            Message.user("hello"),  # 5
            Message.assistant("", (ToolCall(name="ab", arguments={"k": 1}),)),  # 2 + 7
            Message.tool(ToolResult(call_id="c", name="ab", content="xyz")),  # 3
            Message(role="user", parts=(ImagePart(url="http://x/y.png"), TextPart(text="?"))),  # 1
        ),
    )
    response = await ScriptedProvider(["12345678 9"]).complete(req)  # 10 characters out
    assert response.usage == Usage(input_tokens=6, output_tokens=3)  # ceil(22/4), ceil(10/4)
    assert (await ScriptedProvider([""]).complete(req)).usage.output_tokens == 0


async def test_function_provider_sync_and_async() -> None:
    def echo(req: LLMRequest) -> str:
        return f"you said {req.messages[-1].text}"

    async def tool_when_offered(req: LLMRequest) -> ToolCall | str:
        await asyncio.sleep(0)
        return ToolCall(name=req.tools[0].name) if req.tools else "no tools"

    sync_provider = FunctionProvider(echo, name="echo")
    assert (await sync_provider.complete(request("hi"))).message.text == "you said hi"
    assert sync_provider.requests == [request("hi")]

    async_provider = FunctionProvider(tool_when_offered)
    response = await async_provider.complete(request())
    assert response.message.text == "no tools"
    assert response.provider == "function"


async def test_function_provider_may_return_lists_and_responses() -> None:
    replies: list[object] = [
        [ToolCall(name="a"), ToolCall(name="b")],
        LLMResponse(model="m", provider="p", message=Message.assistant("r")),
    ]
    provider = FunctionProvider(lambda req: replies.pop(0))  # pyright: ignore[reportArgumentType, reportUnknownLambdaType] - objects checked at run time
    assert len((await provider.complete(request())).message.tool_calls) == 2
    assert (await provider.complete(request())).message.text == "r"


async def test_function_provider_errors() -> None:
    def boom(req: LLMRequest) -> str:
        raise ProviderError("upstream 500", retryable=True)

    with pytest.raises(ProviderError, match="upstream 500"):
        await FunctionProvider(boom).complete(request())
    with pytest.raises(TypeError, match="a scripted reply is"):
        await FunctionProvider(lambda r: 3).complete(request())  # pyright: ignore[reportArgumentType] - the point of the test


async def test_latency_is_simulated() -> None:
    provider = ScriptedProvider(["slow"], latency=0.05)
    start = time.perf_counter()
    response = await provider.complete(request())
    assert time.perf_counter() - start >= 0.045
    assert response.latency_ms == pytest.approx(50.0)


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        ScriptedProvider(latency=-1)


async def test_concurrent_calls_get_replies_in_call_order() -> None:
    provider = ScriptedProvider(["first", "second", "third"], latency=0.01)
    results = await asyncio.gather(*(provider.complete(request(str(i))) for i in range(3)))
    assert [r.message.text for r in results] == ["first", "second", "third"]
