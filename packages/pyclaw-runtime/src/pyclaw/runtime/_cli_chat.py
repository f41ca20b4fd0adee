"""``pyclaw chat [-m TEXT] [--agent NAME] [--session ID] [--json]``."""

# ruff: noqa: PLC0415 - the agent stack is imported inside the command so 'pyclaw --help' stays fast

from __future__ import annotations

import asyncio

import click

from pyclaw.runtime._cli_common import (
    current_home,
    echo_json,
    json_option,
    setup_logging,
    stdin_is_terminal,
)


@click.command()
@click.option("-m", "--message", help="Send this one message and print the final answer.")
@click.option("--agent", help="The agent to talk to (default: default_agent).")
@click.option("--session", "session_id", help="Continue this session instead of a new one.")
@click.option("-q", "--quiet", is_flag=True, help="Do not show tool activity on stderr.")
@json_option
def chat(
    message: str | None, agent: str | None, session_id: str | None, quiet: bool, as_json: bool
) -> None:
    """Talk to an agent from the terminal (in this process).

    With -m, prints the agent's final answer (exit 1 when the run failed); without it, a
    conversation on stdin. With no API key configured, the embedded local model answers.
    """
    setup_logging()
    from pyclaw.runtime._chat import chat_once, chat_repl, print_result, result_json
    from pyclaw.runtime._config_load import load_config

    home = current_home()
    config = load_config(home.config_path)
    if message is None:
        if as_json:
            raise click.UsageError("--json needs -m TEXT")
        asyncio.run(chat_repl(home, config, agent=agent, session_id=session_id))
        return
    if not message.strip():
        raise click.UsageError("-m needs a non-empty message")
    session, result = asyncio.run(
        chat_once(
            home,
            config,
            message,
            agent=agent,
            session_id=session_id,
            interactive=stdin_is_terminal(),
            verbose=not quiet and not as_json,
        )
    )
    if as_json:
        echo_json(result_json(session, result))
    else:
        print_result(result)
    if result.status.value != "succeeded":
        raise SystemExit(1)
