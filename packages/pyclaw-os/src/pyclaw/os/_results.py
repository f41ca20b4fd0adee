"""Shaping tool output for the model: readable validation errors, and the output cap."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from pyclaw.meta import ArtifactRef, ArtifactStore

logger = logging.getLogger("pyclaw.os")

ARTIFACT_TIMEOUT_S = 30.0
MAX_LISTED_PROBLEMS = 20


def describe_validation_error(tool_name: str, exc: ValidationError) -> str:
    """One line naming each bad field and its problem, e.g.
    ``invalid arguments for read_file: path: Field required; offset: Input should be ...``."""
    problems: list[str] = []
    for error in exc.errors(include_url=False)[:MAX_LISTED_PROBLEMS]:
        where = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return f"invalid arguments for {tool_name}: " + "; ".join(problems)


@dataclass(frozen=True)
class CappedOutput:
    content: str
    artifacts: tuple[ArtifactRef, ...] = ()
    truncated: bool = False


async def cap_output(
    content: str, *, limit: int, store: ArtifactStore | None, name: str
) -> CappedOutput:
    """``content`` cut to about ``limit`` characters (its head and its tail, a marker between
    saying how much was cut); the whole text goes to ``store`` when there is one."""
    if len(content) <= limit:
        return CappedOutput(content)
    ref: ArtifactRef | None = None
    where = "the full output was not kept (no artifact store)"
    if store is not None:
        try:
            ref = await asyncio.wait_for(
                store.put(
                    content.encode("utf-8"), media_type="text/plain; charset=utf-8", name=name
                ),
                ARTIFACT_TIMEOUT_S,
            )
            where = f"full output in {ref.uri}"
        except Exception as exc:  # noqa: BLE001 - a store failure must not lose the result
            logger.warning("could not store the full output of %s: %s", name, exc)
            where = f"the full output could not be stored ({type(exc).__name__})"
    cut = len(content) - limit
    head_len = limit * 3 // 4
    head = content[:head_len]
    tail = content[len(content) - (limit - head_len) :] if limit > head_len else ""
    marker = f"\n[… output truncated: {cut:,} of {len(content):,} characters cut here; {where}]\n"
    return CappedOutput(head + marker + tail, (ref,) if ref else (), truncated=True)
