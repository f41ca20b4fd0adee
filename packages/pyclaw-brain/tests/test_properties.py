"""Property: whatever the tools do and whenever the run is stopped, no call is left unpaired."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyclaw_brain_fakes import (
    FakeContext,
    FakeTools,
    MemorySessionLog,
    ScriptedLLM,
    call,
    failing,
    raising,
    reply,
    sleeper,
    unpaired_calls,
    untrusted,
)

from pyclaw.brain import AgentBrain, BrainSettings
from pyclaw.meta import AgentProfile, Budget, Message, RunRequest, RunStatus, verify_chain

BEHAVIOURS = ["ok", "slow", "fail", "untrusted", "crash"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.lists(st.sampled_from(BEHAVIOURS), min_size=0, max_size=3), min_size=1, max_size=4
    ),
    cancel_after=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.03)),
    max_steps=st.integers(min_value=1, max_value=5),
)
async def test_runs_always_end_with_every_call_paired(
    steps: list[list[str]], cancel_after: float | None, max_steps: int
) -> None:
    log, tools = MemorySessionLog(), FakeTools()
    tools.add("ok")
    tools.add("slow", sleeper(0.01))
    tools.add("fail", failing())
    tools.add("untrusted", untrusted("page"))
    tools.add("crash", raising(RuntimeError("boom"), after=0.005))
    llm = ScriptedLLM(*(reply("", *(call(b, n=i) for i, b in enumerate(s))) for s in steps))
    llm.script(reply("done"))
    session = (await log.create_session(agent="main", channel="t")).id
    brain = AgentBrain(
        agent=AgentProfile(name="main", provider="scripted"),
        llm=llm,
        context=FakeContext(),
        tools=tools,
        sessions=log,
        settings=BrainSettings(loop_threshold=2),
    )
    request = RunRequest(
        session_id=session,
        agent="main",
        input=Message.user("go"),
        budget=Budget(max_steps=max_steps),
    )
    task = asyncio.create_task(brain.run(request))
    if cancel_after is not None:
        await asyncio.sleep(cancel_after)
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    events = log.events[session]
    assert unpaired_calls(events) == []
    assert verify_chain(session, events).ok
    assert events[-1].kind == "run_finished"
    assert [e.kind for e in events].count("run_finished") == 1
    requests = [e.payload.call_id for e in events if e.kind == "llm_request"]
    responses = [e.payload.call_id for e in events if e.kind == "llm_response"]
    assert requests == responses
    status = events[-1].payload.status
    assert status in {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
    assert tools.running == 0
