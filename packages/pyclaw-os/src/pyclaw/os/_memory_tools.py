"""The long-term memory tools: ``memory_add`` and ``memory_search`` over ``ToolEnv.memory``.

They speak the ``pyclaw.meta.MemoryStore`` protocol only; the store itself (pyclaw-memory or any
other) is handed in by whoever builds the ``ToolEnv``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from pyclaw.meta import MemoryItem, MemoryKind, MemoryStore, RiskLevel, ToolError, utcnow
from pyclaw.os._file_tools import StrictArgs
from pyclaw.os._tool import Tool, ToolRun


def _store(run: ToolRun) -> MemoryStore:
    if run.env.memory is None:
        raise ToolError("no memory store is configured for this agent")
    return run.env.memory


class MemoryAddArgs(StrictArgs):
    text: str = Field(min_length=1, max_length=4000, description="What to remember, standalone.")
    kind: MemoryKind = Field(
        default="fact",
        description="'fact' (about the user or world), 'note' (context), 'procedure' (how to).",
    )
    ttl_days: float | None = Field(
        default=None, gt=0, le=36_500, description="Forget after this many days (default never)."
    )


class MemoryAddTool(Tool[MemoryAddArgs]):
    """Stores one long-term memory for the agent, with its provenance."""

    name: ClassVar[str] = "memory_add"
    description: ClassVar[str] = (
        "Remember something for future conversations: a fact, a note or a procedure. Write it "
        "so it makes sense on its own later."
    )
    args_model = MemoryAddArgs
    risk: ClassVar[RiskLevel] = RiskLevel.MODERATE
    timeout_s: float = 15.0

    async def run(self, args: MemoryAddArgs, run: ToolRun) -> str:
        store = _store(run)
        session = run.context.session_id
        expires = utcnow() + timedelta(days=args.ttl_days) if args.ttl_days else None
        item = await store.add(
            MemoryItem(
                agent=run.context.agent,
                kind=args.kind,
                text=args.text,
                source=f"session:{session}",
                session_id=session,
                expires_at=expires,
            )
        )
        until = f", expires {item.expires_at:%Y-%m-%d}" if item.expires_at else ""
        return f"remembered {item.kind} {item.id}{until}"


class MemorySearchArgs(StrictArgs):
    query: str = Field(min_length=1, description="What to look for, in plain words.")
    limit: int = Field(default=5, ge=1, le=50, description="How many memories at most.")
    kinds: list[MemoryKind] | None = Field(default=None, description="Only these kinds.")


class MemorySearchTool(Tool[MemorySearchArgs]):
    """Searches the agent's long-term memory."""

    name: ClassVar[str] = "memory_search"
    description: ClassVar[str] = (
        "Search your long-term memory. Returns the best matches, one per line: "
        "[kind] text (id, score, source)."
    )
    args_model = MemorySearchArgs
    timeout_s: float = 15.0

    async def run(self, args: MemorySearchArgs, run: ToolRun) -> str:
        hits = await _store(run).search(
            args.query, agent=run.context.agent, limit=args.limit, kinds=args.kinds
        )
        if not hits:
            return f"[no memories match {args.query!r}]"
        lines = [
            f"- [{hit.item.kind}] {hit.item.text} "
            f"({hit.item.id}, score {hit.score:.2f}, source {hit.item.source or 'unknown'})"
            for hit in hits
        ]
        return "\n".join(lines)
