"""``pyclaw eval … --judge``: the Cortensor router that judges replayed answers.

``--judge cortensor`` takes the router the ``delegate`` tool uses (``[tools.delegate] provider``,
else the first provider of kind ``cortensor``); ``--judge NAME`` a configured provider of kind
``cortensor`` by name. No router: a ``UsageError`` (exit 2) saying how to configure one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyclaw.eval import AnswerJudge
from pyclaw.meta import UsageError
from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._providers import open_delegator, provider_settings

if TYPE_CHECKING:
    from pyclaw.llm.cortensor import CortensorClient

DEFAULT_JUDGE = "cortensor"
HOW_TO = (
    'add a router to pyclaw.toml: [providers.router] kind = "cortensor", '
    'base_url = "http://HOST:5010", api_key = "secret:router", session_id = N'
)


def open_judge_client(rt: AgentRuntime, name: str) -> CortensorClient:
    """The router ``--judge name`` names, its key resolved (and registered with the redactor).
    Opens no connection; close it with ``await client.aclose()``."""
    config = rt.config
    if name == DEFAULT_JUDGE and config.providers.get(name) is None:
        client = open_delegator(config, rt.secrets, on_secret=rt.redactor.register)
        if client is None:
            raise UsageError(f"--judge cortensor needs a Cortensor router: {HOW_TO}")
        return client
    provider = config.providers.get(name)
    if provider is None or provider.kind != "cortensor":
        routers = [n for n, p in config.providers.items() if p.kind == "cortensor"]
        what = (
            f"no provider {name!r} is configured"
            if provider is None
            else f"provider {name!r} is kind {provider.kind!r}, not a Cortensor router"
        )
        fix = f"configured routers: {', '.join(routers)}" if routers else HOW_TO
        raise UsageError(f"--judge {name}: {what} ({fix})")
    from pyclaw.llm.cortensor import cortensor_client  # noqa: PLC0415 - lazy: httpx, pyclaw.llm

    settings = provider_settings(name, provider, rt.secrets)
    if settings.api_key is not None:
        rt.redactor.register(f"providers.{name}.api_key", settings.api_key.get_secret_value())
    return cortensor_client(name, settings)


def answer_judge(client: CortensorClient, rt: AgentRuntime, criteria: str = "") -> AnswerJudge:
    """The eval's judge on ``client``: what it is sent goes through the home's redactor first."""
    return AnswerJudge(client, criteria=criteria, redactor=rt.redactor)
