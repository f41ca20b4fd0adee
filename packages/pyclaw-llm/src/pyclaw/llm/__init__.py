"""PyClaw's LLM provider layer: implementations of the ``pyclaw.meta.LLMProvider`` protocol.

Today it holds the providers that answer without a model, for tests and replay:
``ScriptedProvider`` (replies from a script) and ``FunctionProvider`` (replies from a function of
the request). The OpenAI, Anthropic and local-model providers arrive in a later issue.
"""

from pyclaw.llm._fake import FakeProvider
from pyclaw.llm._function import FunctionProvider, ReplyFunction
from pyclaw.llm._replies import Reply, estimate_tokens, estimate_usage
from pyclaw.llm._scripted import ScriptedProvider
from pyclaw.llm._streaming import stream_events

__all__ = [
    "FakeProvider",
    "FunctionProvider",
    "Reply",
    "ReplyFunction",
    "ScriptedProvider",
    "estimate_tokens",
    "estimate_usage",
    "stream_events",
]
