"""A ``pyclaw daemon`` run in-process against ``FakeTelegramServer`` and ``FakeOpenAIServer``,
for the daemon's end-to-end and abuse tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pyclaw.controlplane_telegram.testing import FakeTelegramServer, wait_until
from pyclaw.llm.testing import FakeOpenAIServer
from pyclaw.llm.testing._http import JSONObject
from pyclaw.runtime._config_load import parse_config
from pyclaw.runtime._daemon_service import serve
from pyclaw.runtime._home import PyClawHome

Responder = Callable[[JSONObject], Any]


def last_user_text(body: JSONObject) -> str:
    messages = body.get("messages")
    assert isinstance(messages, list)
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def has_tool_result(body: JSONObject) -> bool:
    messages = body.get("messages")
    assert isinstance(messages, list)
    last = messages[-1]
    return isinstance(last, dict) and last.get("role") == "tool"


@dataclass
class Running:
    home: PyClawHome
    telegram: FakeTelegramServer
    model: FakeOpenAIServer
    ready: dict[str, Any]


@asynccontextmanager
async def daemon(
    responder: Responder | None = None,
    *,
    extra: str = "",
    allowed: str = "[42, 43]",
    home: PyClawHome | None = None,
) -> AsyncIterator[Running]:
    home = home or PyClawHome.from_env()
    with FakeTelegramServer() as telegram, FakeOpenAIServer(responder=responder) as model:
        config = parse_config(
            f'[providers.fake]\nkind = "openai-compatible"\nbase_url = "{model.base_url}"\n'
            'model = "scripted"\n'
            '[agents.main]\nprovider = "fake"\ntools = ["exec", "read_file"]\n'
            f'[telegram]\ntoken = "{telegram.token}"\napi_base_url = "{telegram.api_base_url}"\n'
            f"allowed_user_ids = {allowed}\npoll_timeout = 1\n{extra}"
        )
        stop = asyncio.Event()
        ready: dict[str, Any] = {}
        task = asyncio.create_task(serve(home, config, stop=stop, on_ready=ready.update))
        try:
            await wait_until(lambda: bool(ready) or task.done(), within=20)
            if task.done():
                task.result()
            yield Running(home, telegram, model, ready)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


def texts(telegram: FakeTelegramServer, chat_id: int) -> list[str]:
    return [m.text for m in telegram.messages(chat_id)]
