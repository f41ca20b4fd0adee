"""``TelegramSettings``: everything the Telegram channel needs to know, validated once."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from pyclaw.meta import Model

TELEGRAM_API = "https://api.telegram.org"
"""Telegram's own Bot API server."""

DEFAULT_UPDATES = ("message", "callback_query", "message_reaction")
"""The update kinds asked for: edited messages, channel posts, inline queries etc. are not."""


class TelegramSettings(Model):
    """Configuration of one Telegram bot (the runtime builds it from ``[telegram]``).

    ``token`` is the bot token (kept as a ``SecretStr``: it never shows in a repr or a log).
    ``api_base_url`` is the Bot API server (a local fake in tests, a self-hosted server in
    production). ``allowed_user_ids`` may always talk to the bot; anyone else must be paired
    (``approve_pairing``). Time values are seconds.
    """

    token: SecretStr
    api_base_url: str = TELEGRAM_API
    allowed_user_ids: tuple[int, ...] = ()
    poll_timeout: int = Field(default=30, ge=0, le=300)
    allowed_updates: tuple[str, ...] = DEFAULT_UPDATES
    channel_name: str = Field(default="telegram", min_length=1)
    commands: tuple[str, ...] = ("new", "stop", "status")
    delete_webhook: bool = True
    """Delete a configured webhook at start (``getUpdates`` answers 409 while one is set)."""

    # -- HTTP -------------------------------------------------------------------------------
    connect_timeout: float = Field(default=10.0, gt=0)
    request_timeout: float = Field(default=20.0, gt=0)
    """Read/write timeout of every call but ``getUpdates``, whose read timeout is
    ``poll_timeout + request_timeout``."""

    # -- retries ----------------------------------------------------------------------------
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    send_attempts: int = Field(default=6, ge=1)
    """Attempts per outbound call on network errors and 5xx (429 waits do not count)."""
    max_retry_after: float = Field(default=300.0, gt=0)
    """A 429 asking to wait longer than this fails the call instead of stalling it."""

    # -- delivery to the runtime ------------------------------------------------------------
    delivery_attempts: int = Field(default=5, ge=1)
    """A sink that fails this many times on one update gets it marked dead (and logged)."""
    retention_days: float = Field(default=7.0, gt=0)
    """Delivered updates are kept this long (duplicate detection), then pruned."""

    # -- pairing ----------------------------------------------------------------------------
    pairing_ttl: float = Field(default=3600.0, gt=0)
    pairing_reply_interval: float = Field(default=600.0, ge=0)
    """An unknown user is told their code at most once per this interval."""
    max_pending_pairings: int = Field(default=20, ge=1)

    # -- output -----------------------------------------------------------------------------
    chunk_limit: int = Field(default=4096, ge=64, le=4096)
    """The longest message sent, in UTF-16 code units after entity parsing (Telegram's unit)."""
    typing_interval: float = Field(default=4.0, gt=0)
    stream_interval: float = Field(default=1.0, ge=0)
    """The shortest time between two edits of a streamed message."""
    approval_window: float = Field(default=600.0, gt=0)
    """What the "allow 10 min" button grants, in seconds."""
    approval_ttl: float = Field(default=1800.0, gt=0)
    """How long buttons stay valid when the request carries no ``expires_at``."""

    @field_validator("api_base_url")
    @classmethod
    def _strip_url(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base_url must start with http:// or https://")
        return value

    @property
    def bot_id(self) -> str:
        """The bot's numeric id: the token's part before ``:`` (keys its rows in the database)."""
        return self.token.get_secret_value().split(":", 1)[0]
