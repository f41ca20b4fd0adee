"""``pyclaw tools list [--agent NAME] [--json]``."""

# ruff: noqa: PLC0415 - the tool host is imported inside the command so 'pyclaw --help' stays fast

from __future__ import annotations

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging


@click.group()
def tools() -> None:
    """Tools agents can call: built-in ones and plug-ins (entry points ``pyclaw.tools``)."""


@tools.command("list")
@click.option("--agent", help="Only the tools this agent may use (default: every tool).")
@json_option
def list_command(agent: str | None, as_json: bool) -> None:
    """List tools with their risk level, whether they can run here, and what they do."""
    setup_logging()
    from pyclaw.runtime._config_load import load_config
    from pyclaw.runtime._render import clip, table
    from pyclaw.runtime._tools import tool_listing

    home = current_home()
    config = load_config(home.config_path)
    rows = tool_listing(home, config, agent=agent)
    if as_json:
        echo_json([row.model_dump(mode="json") for row in rows])
        return
    table(
        ["name", "risk", "available", "source", "description"],
        [
            [
                r.name,
                r.risk or "-",
                "yes" if r.available else f"no: {r.reason}",
                r.source,
                clip(r.description, 70),
            ]
            for r in rows
        ],
    )
