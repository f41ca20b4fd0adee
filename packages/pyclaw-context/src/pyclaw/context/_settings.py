"""Tuning knobs of the context builder."""

from __future__ import annotations

from dataclasses import dataclass

from pyclaw.meta import UsageError


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextSettings:
    """How the builder spends the token budget and when it compacts.

    Compaction runs only when the prompt does not fit. It then keeps the newest turns verbatim up
    to ``recent_share`` of the room left after system prompt and tools (always at least the current
    turn), summarizes older turns into level-0 summaries, and while all summaries together exceed
    ``summary_share`` of that room (or the prompt still does not fit) merges consecutive summaries
    into higher levels, up to ``max_summary_level``. What is left over is headroom, so the next
    turns fit without compacting again. A current turn larger than the room beside older history
    (``summary_share`` of it is kept for that history) is shrunk for the prompt: old tool results
    become stubs, old steps may be dropped whole, the newest results are cut last.
    """

    skills: tuple[str, ...] = ()
    """Short instruction texts appended to the system prompt under ``## Skills``."""
    memory_limit: int = 5
    """How many memory hits to ask for per build."""
    memory_share: float = 0.15
    """At most this share of the budget goes to the ``Relevant memories`` block."""
    memory_timeout_s: float = 5.0
    """A memory search slower than this is skipped (the build goes on without memories)."""
    recent_share: float = 0.5
    """Share of the room kept as verbatim recent turns when compacting."""
    summary_share: float = 0.3
    """When summaries take more than this share of the room, they are merged a level up."""
    summary_ratio: float = 0.25
    """Target size of a level-0 summary relative to the turns it replaces."""
    merge_ratio: float = 0.5
    """Target size of a merged (level >= 1) summary relative to the summaries it replaces."""
    min_summary_tokens: int = 48
    max_summary_tokens: int = 1024
    max_summary_level: int = 4
    chunk_tokens: int = 8000
    """Most tokens of history handed to the summarizer in one call (at least one whole turn)."""
    summarize_timeout_s: float = 120.0
    """A summarizer call slower than this (or failing) falls back to the extractive summarizer."""
    tool_result_share: float = 0.5
    """No single tool result in the prompt takes more than this share of the budget: a longer one
    is cut, with a note saying how much was left out (the session log keeps it whole)."""
    cache_size: int = 200_000
    """Rendered events and turns kept in the token-count cache."""

    def __post_init__(self) -> None:
        for name in (
            "memory_share",
            "recent_share",
            "summary_share",
            "summary_ratio",
            "merge_ratio",
            "tool_result_share",
        ):
            value: float = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise UsageError(f"context setting {name} must be between 0 and 1, got {value}")
        for name in ("memory_limit", "min_summary_tokens", "chunk_tokens", "cache_size"):
            if getattr(self, name) < 0:
                raise UsageError(f"context setting {name} must not be negative")
        if self.max_summary_tokens < self.min_summary_tokens:
            raise UsageError("context setting max_summary_tokens is below min_summary_tokens")
        if self.max_summary_level < 1:
            raise UsageError("context setting max_summary_level must be at least 1")
        if self.memory_timeout_s <= 0 or self.summarize_timeout_s <= 0:
            raise UsageError("context timeouts must be positive")
