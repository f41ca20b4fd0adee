"""``pyclaw init``: non-interactive with flags, or prompted on a terminal."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

from typing import Any

import click

from pyclaw.runtime import _cli_common
from pyclaw.runtime._cli_common import current_home, setup_logging

KINDS = ("local", "openai", "anthropic", "openai-compatible", "cortensor")
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def _ask(value: Any, interactive: bool, text: str, **kwargs: Any) -> Any:
    """``value`` when given; else a prompt on a terminal; else the prompt's default."""
    if value is not None or not interactive:
        return value if value is not None else kwargs.get("default")
    return click.prompt(text, **kwargs)


def _optional(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


@click.command()
@click.option("--provider-name", help="Name of the model provider (default: its kind).")
@click.option(
    "--provider-kind", type=click.Choice(KINDS), help="Kind of provider (default: local)."
)
@click.option("--model", help="Model name for the provider.")
@click.option("--base-url", help="API base URL (required for openai-compatible and cortensor).")
@click.option("--api-key-env", help="Environment variable holding the API key.")
@click.option("--api-key", help="API key (stored in the secret store, never in pyclaw.toml).")
@click.option("--telegram-token", help="Telegram bot token (stored as secret 'telegram_token').")
@click.option(
    "--allowed-user-id",
    "allowed_user_ids",
    type=int,
    multiple=True,
    help="Telegram user id allowed to talk to the bot (repeatable).",
)
@click.option("--agent-name", help="Name of the first agent (default: default).")
@click.option("--system-prompt", help="The agent's system prompt.")
@click.option("--force", is_flag=True, help="Overwrite an existing pyclaw.toml.")
@click.option(
    "--yes", "--non-interactive", "yes", is_flag=True, help="Never prompt; use flags and defaults."
)
def init(
    *,
    provider_name: str | None,
    provider_kind: str | None,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    api_key: str | None,
    telegram_token: str | None,
    allowed_user_ids: tuple[int, ...],
    agent_name: str | None,
    system_prompt: str | None,
    force: bool,
    yes: bool,
) -> None:
    """Create pyclaw.toml (0600), the home layout and the database.

    On a terminal, asks for what the flags did not give; with --yes (or without a terminal) it
    uses the flags and defaults. Keys and tokens go to the secret store; pyclaw.toml only refers
    to them as 'secret:<name>'.
    """
    setup_logging()
    from pyclaw.runtime._init import InitAnswers, run_init

    home = current_home()
    interactive = _cli_common.stdin_is_terminal() and not yes
    if interactive and home.config_path.exists() and not force:
        # Declining leaves force off: run_init then refuses with its one-line error.
        force = click.confirm(f"{home.config_path} exists. Overwrite it?", default=False)
    kind: str = _ask(
        provider_kind, interactive, "Model provider kind", type=click.Choice(KINDS), default="local"
    )
    name: str = _ask(provider_name, interactive, "Provider name", default=kind)
    if kind in ("openai-compatible", "cortensor"):
        base_url = _ask(base_url, interactive, "API base URL")
    if kind != "local":
        prompt = "Model (empty for the provider's default)"
        model = _optional(_ask(model, interactive, prompt, default="", show_default=False))
        if api_key is None and api_key_env is None and interactive:
            api_key = _hidden("API key (empty to read it from an environment variable)")
            if api_key is None:
                default_env = KEY_ENV.get(kind, "")
                api_key_env = _optional(
                    click.prompt(
                        "Environment variable holding the API key",
                        default=default_env,
                        show_default=bool(default_env),
                    )
                )
    if interactive and telegram_token is None:
        telegram_token = _hidden("Telegram bot token (empty to skip)")
    ids = list(allowed_user_ids)
    if interactive and telegram_token and not ids:
        prompt = "Telegram user ids allowed to talk to the bot (comma-separated)"
        ids = _parse_ids(click.prompt(prompt, default="", show_default=False))
    answers = InitAnswers(
        provider_name=name,
        provider_kind=kind,
        agent_name=_ask(agent_name, interactive, "Agent name", default="default"),
        model=model,
        base_url=base_url,
        api_key=api_key,
        api_key_env=api_key_env,
        telegram_token=telegram_token,
        allowed_user_ids=ids,
    )
    if system_prompt is not None:
        answers.system_prompt = system_prompt
    for line in run_init(home, answers, force=force):
        click.echo(line)


def _hidden(text: str) -> str | None:
    """An optional secret typed without echo (empty answer → ``None``)."""
    return _optional(click.prompt(text, default="", hide_input=True, show_default=False))


def _parse_ids(raw: str) -> list[int]:
    ids: list[int] = []
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise click.BadParameter(f"{part!r} is not a Telegram user id", param_hint="user ids")
        ids.append(int(part))
    return ids
