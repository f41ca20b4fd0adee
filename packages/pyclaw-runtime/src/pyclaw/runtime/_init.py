"""What ``pyclaw init`` does once it has its answers: config, secrets, layout, database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyclaw.meta import ConfigError
from pyclaw.runtime._config import DEFAULT_AGENT_TOOLS, DEFAULT_SYSTEM_PROMPT
from pyclaw.runtime._config_load import config_from_data, write_config
from pyclaw.runtime._home import PyClawHome
from pyclaw.runtime._services import open_database, secret_store

TELEGRAM_SECRET = "telegram_token"  # noqa: S105 - a secret name, not its value


@dataclass
class InitAnswers:
    """Everything ``init`` needs, gathered from flags and (on a terminal) prompts."""

    provider_name: str
    provider_kind: str
    agent_name: str = "default"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    telegram_token: str | None = None
    allowed_user_ids: list[int] = field(default_factory=list[int])

    @property
    def api_key_secret(self) -> str:
        return f"{self.provider_name}_api_key"

    def config_data(self) -> dict[str, Any]:
        """The ``pyclaw.toml`` content; secrets appear only as ``secret:<name>`` references."""
        provider: dict[str, Any] = {
            "kind": self.provider_kind,
            "base_url": self.base_url,
            "model": self.model,
            "api_key": f"secret:{self.api_key_secret}" if self.api_key else None,
            "api_key_env": self.api_key_env,
        }
        data: dict[str, Any] = {
            "default_agent": self.agent_name,
            "providers": {self.provider_name: provider},
            "agents": {
                self.agent_name: {
                    "provider": self.provider_name,
                    "system_prompt": self.system_prompt,
                    # The embedded 135M model cannot call tools (and 12 tool schemas would take
                    # most of its 4,096-token window); a hosted model gets every built-in tool.
                    "tools": [] if self.provider_kind == "local" else list(DEFAULT_AGENT_TOOLS),
                }
            },
        }
        if self.telegram_token or self.allowed_user_ids:
            data["telegram"] = {
                "token": f"secret:{TELEGRAM_SECRET}" if self.telegram_token else None,
                "allowed_user_ids": self.allowed_user_ids,
            }
        return data


def run_init(home: PyClawHome, answers: InitAnswers, *, force: bool) -> list[str]:
    """Validate, store the secrets, write ``pyclaw.toml`` (0600), create the layout, migrate.

    Nothing is written when the answers do not make a valid config, or when the config exists and
    ``force`` is not given. Returns the report lines.
    """
    if answers.api_key and answers.api_key_env:
        raise ConfigError("give either --api-key or --api-key-env, not both")
    data = answers.config_data()
    config_from_data(data, path=home.config_path)  # fail before anything is written
    if home.config_path.exists() and not force:
        raise ConfigError(
            "already exists; refusing to overwrite it",
            file=str(home.config_path),
            hint="use --force",
        )
    home.ensure_layout()
    lines: list[str] = []
    secrets = secret_store(home)
    stored = {answers.api_key_secret: answers.api_key, TELEGRAM_SECRET: answers.telegram_token}
    for name, value in stored.items():
        if value:
            backend = secrets.set(name, value)
            lines.append(f"stored secret {name!r} in the {backend}")
    write_config(home.config_path, data, overwrite=force)
    lines.insert(0, f"wrote {home.config_path}")
    database = open_database(home)
    try:
        versions = database.schema_versions()
    finally:
        database.close()
    schema = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    lines.append(f"database {home.db_path} ready ({schema})")
    if answers.telegram_token and not answers.allowed_user_ids:
        lines.append("note: no --allowed-user-id given; the bot will refuse every Telegram user")
    lines.append("next: pyclaw doctor")
    return lines
