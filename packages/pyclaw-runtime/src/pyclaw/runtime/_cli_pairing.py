"""``pyclaw pairing list | approve CODE | revoke USER_ID``: who may talk to the Telegram bot.

An unknown Telegram user gets a one-time code from the bot; approving it here lets them in from
their next message (the daemon reads the table, so no restart is needed).
"""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging

if TYPE_CHECKING:
    from pyclaw.storage import Database


@contextmanager
def _database() -> Generator[Database]:
    from pyclaw.runtime._services import open_database

    db = open_database(current_home())
    try:
        yield db
    finally:
        db.close()


@click.group()
def pairing() -> None:
    """Telegram pairing: list pending codes and paired users, approve a code, revoke a user."""


@pairing.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """Pending pairing codes (unexpired) and the users paired so far."""
    setup_logging()
    from pyclaw.controlplane_telegram import list_paired_users, list_pairings
    from pyclaw.runtime._render import table, when

    with _database() as db:
        pending = list_pairings(db)
        paired = list_paired_users(db)
    if as_json:
        echo_json(
            {
                "pending": [p.model_dump(mode="json") for p in pending],
                "paired": [p.model_dump(mode="json") for p in paired],
            }
        )
        return
    if pending:
        rows = [
            [p.code, str(p.user_id), p.name, p.bot, when(p.created_at), when(p.expires_at)]
            for p in pending
        ]
        table(["code", "user", "name", "bot", "asked", "expires"], rows)
    else:
        click.echo("no pending pairing requests")
    if paired:
        rows = [[str(u.user_id), u.name, u.bot, when(u.approved_at)] for u in paired]
        table(["user", "name", "bot", "approved"], rows)
    else:
        click.echo("no paired users")


@pairing.command("approve")
@click.argument("code")
@json_option
def approve_command(code: str, as_json: bool) -> None:
    """Let the Telegram user who was given CODE talk to the bot."""
    setup_logging()
    from pyclaw.controlplane_telegram import PairingNotFoundError, approve_pairing
    from pyclaw.meta import UsageError

    with _database() as db:
        try:
            user = approve_pairing(db, code)
        except PairingNotFoundError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
    if as_json:
        echo_json(user.model_dump(mode="json"))
        return
    click.echo(f"paired Telegram user {user.name} (id {user.user_id}) with bot {user.bot}")


@pairing.command("revoke")
@click.argument("user_id", type=int)
@json_option
def revoke_command(user_id: int, as_json: bool) -> None:
    """Remove a paired Telegram user (users in allowed_user_ids stay allowed)."""
    setup_logging()
    from pyclaw.controlplane_telegram import revoke_paired_user
    from pyclaw.meta import UsageError

    with _database() as db:
        removed = revoke_paired_user(db, user_id)
    if not removed:
        raise UsageError(f"no paired Telegram user with id {user_id}")
    if as_json:
        echo_json({"user_id": user_id, "revoked": True})
        return
    click.echo(f"revoked Telegram user {user_id}")
