"""PyClaw's LLM provider layer: implementations of the ``pyclaw.meta.LLMProvider`` protocol.

HTTP providers (``OpenAICompatibleProvider``; ``OpenAIProvider`` and ``AnthropicProvider`` on the
official SDKs, loaded lazily), model-free ones for tests and replay (``ScriptedProvider``,
``FunctionProvider``), and the wrappers around any of them: retries, fallback, parallel calls,
recording, pricing and tool definitions from pydantic models.
"""

from typing import TYPE_CHECKING

from pyclaw.llm._factory import build_provider
from pyclaw.llm._fake import FakeProvider
from pyclaw.llm._fallback import FallbackProvider, any_provider_error, is_unavailable
from pyclaw.llm._function import FunctionProvider, ReplyFunction
from pyclaw.llm._notices import (
    FallbackNotice,
    NoticeCallback,
    ProviderNotice,
    RetryNotice,
    observe_notices,
)
from pyclaw.llm._parallel import complete_many
from pyclaw.llm._pricing import DEFAULT_PRICES, PRICES_AS_OF, ModelPrice, cost_of, price_for
from pyclaw.llm._recording import RecordingProvider
from pyclaw.llm._replies import Reply, estimate_tokens, estimate_usage
from pyclaw.llm._retry import Jitter, RetryingProvider, RetryPolicy
from pyclaw.llm._schema import is_strict_compatible
from pyclaw.llm._scripted import ScriptedProvider
from pyclaw.llm._settings import PROVIDER_KINDS, ProviderKind, ProviderSettings
from pyclaw.llm._streaming import stream_events
from pyclaw.llm._targets import Target
from pyclaw.llm._tooldefs import parse_tool_args, tool_spec

if TYPE_CHECKING:
    from pyclaw.llm._compat import OpenAICompatibleProvider
    from pyclaw.llm.anthropic import AnthropicProvider
    from pyclaw.llm.openai import OpenAIProvider


def __getattr__(name: str) -> object:
    """Lazy exports: ``OpenAICompatibleProvider`` imports httpx (~0.2 s) only when first used."""
    if name == "OpenAICompatibleProvider":
        from pyclaw.llm._compat import OpenAICompatibleProvider  # noqa: PLC0415 - lazy on purpose

        return OpenAICompatibleProvider
    if name == "OpenAIProvider":  # imports the openai SDK (~1.5 s): only when asked for
        from pyclaw.llm.openai import OpenAIProvider  # noqa: PLC0415 - lazy on purpose

        return OpenAIProvider
    if name == "AnthropicProvider":  # imports the anthropic SDK (~3.5 s): only when asked for
        from pyclaw.llm.anthropic import AnthropicProvider  # noqa: PLC0415 - lazy on purpose

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_PRICES",
    "PRICES_AS_OF",
    "PROVIDER_KINDS",
    "AnthropicProvider",
    "FakeProvider",
    "FallbackNotice",
    "FallbackProvider",
    "FunctionProvider",
    "Jitter",
    "ModelPrice",
    "NoticeCallback",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "ProviderKind",
    "ProviderNotice",
    "ProviderSettings",
    "RecordingProvider",
    "Reply",
    "ReplyFunction",
    "RetryNotice",
    "RetryPolicy",
    "RetryingProvider",
    "ScriptedProvider",
    "Target",
    "any_provider_error",
    "build_provider",
    "complete_many",
    "cost_of",
    "estimate_tokens",
    "estimate_usage",
    "is_strict_compatible",
    "is_unavailable",
    "observe_notices",
    "parse_tool_args",
    "price_for",
    "stream_events",
    "tool_spec",
]
