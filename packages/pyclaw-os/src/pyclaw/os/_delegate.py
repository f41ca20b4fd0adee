"""The ``delegate`` tool: hand a self-contained sub-task to a remote network (a Cortensor router)
with several replicas, and answer with the aggregated result and its consensus metadata.

The task leaves the machine, so the tool is ``risky`` (policy asks a human by default) and
secrets are redacted from it first (the guard chain does not rewrite tool arguments: the call
that runs must be the call that was approved). The remote answer is untrusted content; the
whole response is kept as a JSON artifact for the audit trail.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pyclaw.meta import ArtifactRef, DelegateResult, PyClawError, RiskLevel, ToolError
from pyclaw.os._errors import ToolLoadError
from pyclaw.os._netsettings import HostKeys, load_settings
from pyclaw.os._tool import Tool, ToolEnv, ToolOutput, ToolRun

NO_DELEGATOR = (
    'no Cortensor router is configured (add [providers.<name>] with kind = "cortensor", '
    'or name one with [tools.delegate] provider = "<name>")'
)


class DelegateSettings(HostKeys):
    """``[tools.delegate]``: which provider (read by the runtime), default replicas and policy."""

    provider: str | None = None
    replicas: int = Field(default=3, ge=1, le=16)
    max_replicas: int = Field(default=5, ge=1, le=16)
    policy: Literal["majority", "first", "all"] = "majority"


class DelegateArgs(BaseModel):
    """Arguments of ``delegate``."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        min_length=1,
        max_length=20_000,
        description=(
            "The self-contained sub-task. The remote workers see nothing else of this "
            "conversation: say everything they need, and the form of the answer."
        ),
    )
    input: str = Field(
        default="", max_length=200_000, description="Optional material the task works on."
    )
    replicas: int | None = Field(
        default=None,
        ge=1,
        description="How many independent replicas answer (default 3; 1, 3 or 5 are typical).",
    )
    policy: Literal["majority", "first", "all"] | None = Field(
        default=None,
        description=(
            "How replica answers combine: majority (the most common answer), first, or all "
            "(every distinct answer with its votes)."
        ),
    )


class DelegateTool(Tool[DelegateArgs]):
    """``delegate``: fan a sub-task out to remote replicas and aggregate their answers."""

    name = "delegate"
    description = (
        "Send a self-contained sub-task to the Cortensor network, answered independently by "
        "several replicas; returns the aggregated answer with consensus metadata (how many "
        "replicas agreed). The task leaves this machine."
    )
    args_model = DelegateArgs
    risk = RiskLevel.RISKY
    timeout_s = 660.0
    untrusted = True

    async def run(self, args: DelegateArgs, run: ToolRun) -> ToolOutput:
        env = run.env
        if env.delegator is None:
            raise ToolError(NO_DELEGATOR)
        settings = load_settings(DelegateSettings, self.name, env.settings_for(self.name))
        replicas = args.replicas or settings.replicas
        if replicas > settings.max_replicas:
            raise ToolError(
                f"replicas must be at most {settings.max_replicas} (tools.delegate.max_replicas)"
            )
        policy = args.policy or settings.policy
        redact = env.redactor.redact if env.redactor is not None else _same
        task, material = redact(args.task), redact(args.input)
        try:
            result = await env.delegator.delegate(
                task, input=material, replicas=replicas, policy=policy
            )
        except PyClawError as exc:
            raise ToolError(f"delegate failed: {exc.message}") from exc
        ref = await _store(env, task, material, result)
        return ToolOutput(
            render(result, ref), artifacts=() if ref is None else (ref,), untrusted=True
        )


def _same(text: str) -> str:
    return text


async def _store(
    env: ToolEnv, task: str, material: str, result: DelegateResult
) -> ArtifactRef | None:
    """The whole exchange (what was sent, every replica, the router's raw answer) as JSON."""
    if env.artifacts is None:
        return None
    record = {
        "request": {"task": task, "input": material},
        "result": result.model_dump(mode="json"),
    }
    data = json.dumps(record, ensure_ascii=False, indent=2).encode()
    name = f"delegate-{result.task_id or 'result'}.json"
    return await env.artifacts.put(data, media_type="application/json", name=name)


def render(result: DelegateResult, ref: ArtifactRef | None) -> str:
    """What the model reads: the answer, a consensus line, each replica, the metadata as JSON."""
    answered = len(result.replicas)
    lines = [f"Answer: {result.answer}"]
    if answered:
        verdict = "consensus" if result.consensus else "no majority"
        lines.append(
            f"Consensus: {result.agreeing} of {answered} replicas agree "
            f"({result.agreement:.0%}, {verdict}; policy {result.policy})"
        )
        lines.extend(
            f"[{r.index + 1}]{' *' if r.agrees else ''} {r.text.strip()[:500]}"
            for r in result.replicas
        )
    else:
        lines.append(f"Consensus: as reported by the router ({result.policy}); no replica evidence")
    lines.append("metadata: " + json.dumps(result.metadata(), separators=(",", ":")))
    if ref is not None:
        lines.append(f"full router response: {ref.uri}")
    return "\n".join(lines)


def delegate_tool(env: ToolEnv) -> DelegateTool:
    """A ``ToolFactory`` for the built-in ``delegate``: needs ``env.delegator``."""
    if env.delegator is None:
        raise ToolLoadError(NO_DELEGATOR)
    return DelegateTool()
