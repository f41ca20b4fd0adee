"""Building the Telegram channel from ``[telegram]`` (imported only when a token is configured)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pyclaw.runtime._agents import AgentRuntime
from pyclaw.runtime._config import PyClawConfig

if TYPE_CHECKING:
    from pyclaw.controlplane_telegram import TelegramChannel


async def open_telegram(config: PyClawConfig, runtime: AgentRuntime) -> TelegramChannel | None:
    """The configured Telegram channel (not started), or ``None`` without ``[telegram] token``."""
    section = config.telegram
    if section is None or section.token is None:
        return None
    from pyclaw.controlplane_telegram import (  # noqa: PLC0415 - python-telegram-bot only when used
        TelegramChannel,
        TelegramSettings,
    )

    token = await asyncio.to_thread(runtime.secrets.resolve, section.token)
    runtime.redactor.register("telegram.token", token)
    settings = TelegramSettings(
        token=token,  # pyright: ignore[reportArgumentType] - pydantic turns it into a SecretStr
        api_base_url=section.api_base_url,
        allowed_user_ids=tuple(section.allowed_user_ids),
        poll_timeout=section.poll_timeout,
    )
    return TelegramChannel(settings, runtime.services.db, clock=runtime.clock)
