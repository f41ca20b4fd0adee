"""``pyclaw secrets set | list | rm``: values are read hidden or from stdin, and never printed."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import sys

import click

from pyclaw.runtime import _cli_common
from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging


@click.group()
def secrets() -> None:
    """Stored secrets (keyring, or a 0600 file in the home). Values are never shown."""


def _read_value(name: str, value_stdin: bool) -> str:
    from pyclaw.meta import UsageError

    if value_stdin:
        value = sys.stdin.read()
        value = value.removesuffix("\n").removesuffix("\r")
    elif _cli_common.stdin_is_terminal():
        value = click.prompt(
            f"Value for {name}", hide_input=True, confirmation_prompt=True, show_default=False
        )
    else:
        raise UsageError(
            "stdin is not a terminal", hint="pass --value-stdin to read the value from stdin"
        )
    if not value:
        raise UsageError(f"refusing to store an empty value for secret {name!r}")
    return value


@secrets.command("set")
@click.argument("name")
@click.option("--value-stdin", is_flag=True, help="Read the value from stdin (e.g. a pipe).")
def set_command(name: str, value_stdin: bool) -> None:
    """Store secret NAME (prompted without echo when stdin is a terminal)."""
    setup_logging()
    from pyclaw.runtime._services import secret_store
    from pyclaw.secret import check_name

    home = current_home()
    check_name(name)
    value = _read_value(name, value_stdin)
    home.ensure_layout()
    backend = secret_store(home).set(name, value)
    click.echo(f"stored secret {name!r} in the {backend}; use it in pyclaw.toml as 'secret:{name}'")


@secrets.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List secret names and where each one is kept (never the values)."""
    setup_logging()
    from pyclaw.runtime._services import secret_store

    store = secret_store(current_home())
    infos = store.list()
    if as_json:
        echo_json([info.model_dump(mode="json") for info in infos])
        return
    if not infos:
        click.echo("no secrets stored")
    for info in infos:
        click.echo(f"{info.name}\t{info.backend}")
    click.echo(f"# new secrets go to: {store.backend_description()}", err=True)


@secrets.command("rm")
@click.argument("name")
def rm_command(name: str) -> None:
    """Delete secret NAME from the keyring and the secrets file."""
    setup_logging()
    from pyclaw.runtime._services import secret_store

    secret_store(current_home()).delete(name)
    click.echo(f"deleted secret {name!r}")
