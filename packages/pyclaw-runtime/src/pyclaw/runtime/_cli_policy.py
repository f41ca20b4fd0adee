"""``pyclaw approvals list | approve | deny`` and ``pyclaw grants list | revoke``.

An approval answered here reaches the process waiting for it (``pyclaw chat``, the daemon)
through the approvals table: that process turns it into a grant bound to the exact call.
"""

# ruff: noqa: PLC0415 - the policy engine is imported inside the commands so '--help' stays fast

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging

if TYPE_CHECKING:
    from pyclaw.policy import ApprovalBroker, SQLitePolicyEngine

T = TypeVar("T")
SCOPES = ("once", "window", "session", "always")


def _with_policy(fn: Callable[[SQLitePolicyEngine, ApprovalBroker], Awaitable[T]]) -> T:
    """Run ``fn`` with the home's policy engine and approval broker, then close them."""
    from pyclaw.policy import ApprovalBroker, SQLitePolicyEngine
    from pyclaw.runtime._config_load import load_config
    from pyclaw.runtime._services import open_database

    home = current_home()
    config = load_config(home.config_path)

    async def go() -> T:
        with open_database(home) as db:
            engine = SQLitePolicyEngine(db, config.policy)
            try:
                return await fn(engine, ApprovalBroker(db))
            finally:
                engine.close()

    return asyncio.run(go())


@click.group()
def approvals() -> None:
    """Tool calls waiting for a human's decision."""


@approvals.command("list")
@json_option
def approvals_list(as_json: bool) -> None:
    """List pending approval requests, oldest first."""
    setup_logging()
    import json

    from pyclaw.meta import ApprovalRequest
    from pyclaw.runtime._render import clip, table, when

    async def pending(_: SQLitePolicyEngine, broker: ApprovalBroker) -> list[ApprovalRequest]:
        return await broker.pending()

    requests = _with_policy(pending)
    if as_json:
        echo_json([r.model_dump(mode="json") for r in requests])
        return
    if not requests:
        click.echo("no pending approvals")
        return
    table(
        ["id", "agent", "session", "call", "reason", "expires"],
        [
            [
                r.id,
                r.agent,
                r.session_id,
                clip(f"{r.call.name} {json.dumps(r.call.arguments)}", 60),
                clip(r.reason, 50),
                when(r.expires_at),
            ]
            for r in requests
        ],
    )


def _decide(request_id: str, allow: bool, scope: str, window: str | None) -> None:
    from pyclaw.meta import GrantScope, UsageError, Verdict
    from pyclaw.runtime._schedule import parse_duration

    grant_scope = {
        "once": GrantScope.ONCE,
        "window": GrantScope.WINDOW,
        "session": GrantScope.SESSION,
        "always": GrantScope.FOREVER,
    }[scope]
    seconds: float | None = None
    if window is not None:
        if grant_scope is not GrantScope.WINDOW:
            raise UsageError("--window goes with --scope window")
        try:
            seconds = parse_duration(window)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    elif grant_scope is GrantScope.WINDOW:
        seconds = 600.0
    who = f"cli:{getpass.getuser()}"

    async def decide(_: SQLitePolicyEngine, broker: ApprovalBroker) -> None:
        await broker.resolve_from_cli(
            request_id,
            Verdict.ALLOW if allow else Verdict.DENY,
            scope=grant_scope,
            window_seconds=seconds,
            decided_by=who,
        )

    _with_policy(decide)


@approvals.command("approve")
@click.argument("request_id")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="once",
    show_default=True,
    help="once: this exact call; window: for a time (--window, default 10m); session: for the "
    "rest of the session; always: until revoked.",
)
@click.option("--window", help="How long a window grant lasts, e.g. 10m or 2h.")
def approvals_approve(request_id: str, scope: str, window: str | None) -> None:
    """Allow the call a pending request asks about."""
    setup_logging()
    _decide(request_id, True, scope, window)
    click.echo(f"approved {request_id} ({scope})")


@approvals.command("deny")
@click.argument("request_id")
def approvals_deny(request_id: str) -> None:
    """Refuse the call a pending request asks about."""
    setup_logging()
    _decide(request_id, False, "once", None)
    click.echo(f"denied {request_id}")


@click.group()
def grants() -> None:
    """Permissions humans gave: allow once, for a window, for a session, until revoked."""


@grants.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include expired and revoked ones.")
@json_option
def grants_list(include_inactive: bool, as_json: bool) -> None:
    """List grants, oldest first."""
    setup_logging()
    from pyclaw.meta import Grant, utcnow
    from pyclaw.runtime._render import table, when

    async def listing(engine: SQLitePolicyEngine, _: ApprovalBroker) -> list[Grant]:
        return await engine.list_grants(include_inactive=include_inactive)

    found = _with_policy(listing)
    if as_json:
        echo_json([g.model_dump(mode="json") for g in found])
        return
    if not found:
        click.echo("no grants" if include_inactive else "no active grants")
        return
    now = utcnow()
    table(
        ["id", "agent", "tool", "scope", "session", "covers", "expires", "state"],
        [
            [
                g.id,
                g.agent,
                g.tool,
                g.scope.value,
                g.session_id or "-",
                "this exact call" if g.call_hash else (g.argument_pattern or "any arguments"),
                when(g.expires_at),
                "active" if g.active(now) else ("revoked" if g.revoked_at else "expired"),
            ]
            for g in found
        ],
    )


@grants.command("revoke")
@click.argument("grant_id")
def grants_revoke(grant_id: str) -> None:
    """Revoke a grant now."""
    setup_logging()

    async def revoke(engine: SQLitePolicyEngine, _: ApprovalBroker) -> None:
        await engine.revoke(grant_id)

    _with_policy(revoke)
    click.echo(f"revoked {grant_id}")
