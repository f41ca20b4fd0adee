"""Fake model servers on 127.0.0.1 that speak the real OpenAI, Anthropic and Cortensor protocols.

For tests of code that talks to a model over HTTP (through ``pyclaw.llm``'s providers or the
vendors' own SDKs), without network or keys::

    from pyclaw.llm.testing import FakeOpenAIServer, StatusFault

    with FakeOpenAIServer(["Hello!", StatusFault(429, retry_after=2)]) as server:
        ...  # point a client at server.base_url; inspect server.requests afterwards

Answers are queued (``add``) as text, ``ToolCall``s, ``FakeReply``s or faults (``StatusFault``,
``MalformedJSONFault``, ``DropFault``, ``HangFault``, ``StreamErrorFault``); with an empty queue
the server echoes the last user message. Standard library only (a threaded ``http.server``).
"""

from pyclaw.llm.testing._anthropic import FakeAnthropicServer
from pyclaw.llm.testing._cortensor import FakeCortensorRouter
from pyclaw.llm.testing._cortensor_tasks import FakeDelegation, FakeValidation
from pyclaw.llm.testing._http import RecordedRequest
from pyclaw.llm.testing._openai import FakeOpenAIServer
from pyclaw.llm.testing._script import (
    DropFault,
    FakeReply,
    Fault,
    HangFault,
    MalformedJSONFault,
    ScriptItem,
    StatusFault,
    StreamErrorFault,
)
from pyclaw.llm.testing._server import FakeServer

__all__ = [
    "DropFault",
    "FakeAnthropicServer",
    "FakeCortensorRouter",
    "FakeDelegation",
    "FakeOpenAIServer",
    "FakeReply",
    "FakeServer",
    "FakeValidation",
    "Fault",
    "HangFault",
    "MalformedJSONFault",
    "RecordedRequest",
    "ScriptItem",
    "StatusFault",
    "StreamErrorFault",
]
