"""What flows in from channels (``ControlEvent``), into the brain (``RunRequest``) and back out."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, JsonValue

from pyclaw.meta._base import SCHEMA_VERSION, Model, new_id, utcnow
from pyclaw.meta._messages import Message

RunMode = Literal["main", "isolated"]


class ControlEvent(Model):
    """One inbound item from a channel: a message, a command, a button press, a reaction.

    ``external_id`` is the channel's own unique key (e.g. Telegram's ``update_id``) and makes
    ingestion idempotent: the same external id is handled once.
    """

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("ctl"))
    channel: str
    kind: Literal["message", "command", "callback", "reaction", "system"] = "message"
    external_id: str
    chat_id: str
    user_id: str
    text: str | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
    received_at: AwareDatetime = Field(default_factory=utcnow)


class Budget(Model):
    """Limits for one run. ``None`` means no limit of that kind."""

    max_steps: int | None = Field(default=16, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    timeout_s: float | None = Field(default=600.0, gt=0)


class RunRequest(Model):
    """Ask the brain to run one turn (or mission) of an agent in a session."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=lambda: new_id("run"))
    session_id: str
    agent: str
    input: Message
    mode: RunMode = "main"
    origin: ControlEvent | None = None
    budget: Budget = Budget()
    resume_of: str | None = None
    """Continue the interrupted run with this id (after a crash) instead of starting a new turn:
    its user message is not recorded again, its unfinished calls are closed first (started ones as
    ``uncertain``), and a completed call is never executed a second time."""


class OutboundMessage(Model):
    """A reply for a channel. ``idempotency_key`` stops a message being sent twice after a crash."""

    channel: str
    chat_id: str
    text: str
    idempotency_key: str = Field(default_factory=lambda: new_id("out"))
    reply_to: str | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
