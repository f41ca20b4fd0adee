"""Cortensor's router as a PyClaw provider, delegator and validator.

``CortensorProvider`` answers ``LLMRequest``s from the router's ``/completions`` (the
conversation rendered into one prompt with a chat template, JSON or streamed). A
``CortensorClient`` is also a ``pyclaw.meta.Delegator`` (``delegate``: fan a self-contained task
out to several replicas and aggregate their answers, with consensus metadata) and a
``pyclaw.meta.Validator`` (``validate``: ask the router's validators whether an output holds)::

    async with CortensorClient("http://router:5010", api_key=key, session_id="12") as router:
        result = await router.delegate("What is 6 x 7? Answer with the number.", replicas=3)
        print(result.answer, result.agreement)
        check = await router.validate(result.answer, context="6 x 7")
        print(check.verdict, check.score)
"""

from pyclaw.llm.cortensor._aggregate import Aggregate, aggregate_answers, answer_key
from pyclaw.llm.cortensor._build import cortensor_client, cortensor_provider
from pyclaw.llm.cortensor._client import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    META_TIMEOUT,
    PROGRESS_EVERY,
    CortensorClient,
)
from pyclaw.llm.cortensor._progress import WaitCallback
from pyclaw.llm.cortensor._provider import CortensorProvider
from pyclaw.llm.cortensor._template import CHAT_TEMPLATES, ChatTemplate, render_prompt
from pyclaw.llm.cortensor._wire import API_VERSIONS, ApiVersion, Routes

__all__ = [
    "API_VERSIONS",
    "CHAT_TEMPLATES",
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "META_TIMEOUT",
    "PROGRESS_EVERY",
    "Aggregate",
    "ApiVersion",
    "ChatTemplate",
    "CortensorClient",
    "CortensorProvider",
    "Routes",
    "WaitCallback",
    "aggregate_answers",
    "answer_key",
    "cortensor_client",
    "cortensor_provider",
    "render_prompt",
]
