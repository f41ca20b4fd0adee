"""One step's model call: build the context, pass the guard, call the provider, record it all."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from pyclaw.brain._recorder import Recorder
from pyclaw.brain._state import Collaborators, RunState, failed
from pyclaw.meta import (
    ContextOverflowError,
    ErrorInfo,
    GuardActionEvent,
    GuardVetoError,
    LLMProvider,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    NoteEvent,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    new_id,
)

PLAN_NOTE = (
    "Before acting, start your reply with a short numbered plan (at most five steps) for how you "
    "will answer, then carry out its first step."
)
"""Added to the system prompt of a run's first model call when ``BrainSettings.plan_first``."""


async def call_model(c: Collaborators, st: RunState) -> LLMResponse:
    """Run one step's model call; raise ``RunStop`` when the run cannot go on."""
    rec = st.recorder
    await rec.refresh()  # the history the prompt is built from ends where the log does
    try:
        built = await c.context.build(
            agent=c.agent,
            history=rec.history.events,
            tools=tuple(st.specs.values()),
            budget_tokens=max(0, c.agent.context_tokens - c.agent.max_output_tokens),
            query=st.query,
        )
    except ContextOverflowError as exc:
        raise failed(exc.to_info()) from exc
    rec.stage(*built.summaries)
    request = await _guarded_request(c, rec, _completed(c, st, built.request))
    provider = c.llm.name
    call_id = new_id("llm")
    await rec.add(LLMRequestEvent(call_id=call_id, provider=provider, request=request))
    st.steps += 1
    try:
        if c.settings.stream:
            response = await _streamed(c.llm, request, rec)
        else:
            response = await c.llm.complete(request)
    except ProviderError as exc:
        info = exc.to_info(status=exc.status, provider=exc.provider or provider)
        await rec.add(LLMResponseEvent(call_id=call_id, provider=provider, error=info))
        message = f"the model provider {provider!r} failed: {exc.message}"
        error = ErrorInfo(
            type="ProviderError", message=message, retryable=exc.retryable, details=info.details
        )
        raise failed(error) from exc
    rec.stage(LLMResponseEvent(call_id=call_id, provider=provider, response=response))
    _count(st, response)
    return await _guarded_response(c, rec, response)


def _completed(c: Collaborators, st: RunState, request: LLMRequest) -> LLMRequest:
    """The builder's request with the agent's model and output limit filled in where unset."""
    updates: dict[str, object] = {}
    if not request.model and c.agent.model:
        updates["model"] = c.agent.model
    if request.max_tokens is None:
        updates["max_tokens"] = c.agent.max_output_tokens
    if c.settings.plan_first and st.steps == 0:
        updates["system"] = f"{request.system}\n\n{PLAN_NOTE}" if request.system else PLAN_NOTE
    return request.model_copy(update=updates) if updates else request


def _count(st: RunState, response: LLMResponse) -> None:
    st.usage = st.usage + response.usage
    if response.cost_usd is not None:
        st.cost_usd += response.cost_usd
    elif not st.cost_unknown and st.request.budget.max_cost_usd is not None:
        st.cost_unknown = True
        st.recorder.stage(
            NoteEvent(
                text=f"the cost of model {response.model!r} is unknown: "
                "it counts as $0 toward this run's cost budget",
                level="warning",
            )
        )


async def _guarded_request(c: Collaborators, rec: Recorder, request: LLMRequest) -> LLMRequest:
    if c.guard is None:
        return request
    try:
        changed = await c.guard.before_llm(request)
    except GuardVetoError as exc:
        rec.stage(GuardActionEvent(hook="before_llm", action="veto", reason=exc.message))
        raise failed(exc.to_info(hook="before_llm")) from exc
    if changed is not request and changed != request:
        reason = "a guard changed the request before it was sent"
        rec.stage(GuardActionEvent(hook="before_llm", action="transform", reason=reason))
    return changed


async def _guarded_response(c: Collaborators, rec: Recorder, response: LLMResponse) -> LLMResponse:
    if c.guard is None:
        return response
    try:
        changed = await c.guard.after_llm(response)
    except GuardVetoError as exc:
        rec.stage(GuardActionEvent(hook="after_llm", action="veto", reason=exc.message))
        raise failed(exc.to_info(hook="after_llm")) from exc
    if changed is not response and changed != response:
        reason = "a guard changed the model's reply before it was used"
        rec.stage(GuardActionEvent(hook="after_llm", action="transform", reason=reason))
    return changed


async def _streamed(llm: LLMProvider, request: LLMRequest, rec: Recorder) -> LLMResponse:
    """Consume ``llm.stream``: text deltas go to the observer, the final response is returned."""
    stream: AsyncIterator[StreamEvent] = llm.stream(request)
    final: LLMResponse | None = None
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                await rec.text(event.text)
            elif isinstance(event, ResponseDone):
                final = event.response
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()
    if final is None:
        raise ProviderError(
            "the stream ended without a final response", provider=llm.name, retryable=True
        )
    return final
