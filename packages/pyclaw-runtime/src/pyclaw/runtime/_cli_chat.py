"""``pyclaw chat [-m TEXT] [--agent NAME] [--session ID] [--json] [--local]``."""

# ruff: noqa: PLC0415 - the agent stack is imported inside the command so 'pyclaw --help' stays fast

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from pyclaw.runtime._cli_common import (
    current_home,
    echo_json,
    json_option,
    setup_logging,
    stdin_is_terminal,
)

if TYPE_CHECKING:
    from pyclaw.meta import RunResult


@click.command()
@click.option("-m", "--message", help="Send this one message and print the final answer.")
@click.option("--agent", help="The agent to talk to (default: default_agent).")
@click.option("--session", "session_id", help="Continue this session instead of a new one.")
@click.option("-q", "--quiet", is_flag=True, help="Do not show tool activity on stderr.")
@click.option("--local", is_flag=True, help="Run the agent in this process even if a daemon runs.")
@json_option
def chat(
    *,
    message: str | None,
    agent: str | None,
    session_id: str | None,
    quiet: bool,
    local: bool,
    as_json: bool,
) -> None:
    """Talk to an agent from the terminal.

    With -m, prints the agent's final answer (exit 1 when the run failed); without it, a
    conversation on stdin. When a daemon runs (pyclaw daemon), the turn runs there; otherwise,
    or with --local, in this process. With no API key configured, the embedded local model
    answers.
    """
    setup_logging()
    from pyclaw.runtime._control_client import daemon_running

    if message is None and as_json:
        raise click.UsageError("--json needs -m TEXT")
    if message is not None and not message.strip():
        raise click.UsageError("-m needs a non-empty message")
    home = current_home()
    if not local and daemon_running(home):
        from pyclaw.runtime import _control_chat as remote

        if message is None:
            asyncio.run(remote.chat_repl_via_daemon(home, agent=agent, session_id=session_id))
            return
        session, result = asyncio.run(
            remote.chat_once_via_daemon(
                home,
                message,
                agent=agent,
                session_id=session_id,
                interactive=stdin_is_terminal(),
                verbose=not quiet and not as_json,
            )
        )
    else:
        from pyclaw.runtime._chat import chat_once, chat_repl
        from pyclaw.runtime._config_load import load_config

        config = load_config(home.config_path)
        if message is None:
            asyncio.run(chat_repl(home, config, agent=agent, session_id=session_id))
            return
        info, result = asyncio.run(
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
        session = info.id
    _finish(session, result, as_json=as_json)


def _finish(session_id: str, result: RunResult, *, as_json: bool) -> None:
    from pyclaw.runtime._chat import print_result, result_json

    if as_json:
        echo_json(result_json(session_id, result))
    else:
        print_result(result)
    if result.status.value != "succeeded":
        raise SystemExit(1)
