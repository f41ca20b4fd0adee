"""``pyclaw doctor``."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the home, config, secrets, database, artifacts and disk (exit 1 if any check fails).

    Each line reads 'ok|warn|fail  <check>: <detail>'.
    """
    setup_logging()
    from pyclaw.runtime._doctor import run_checks

    checks = run_checks(current_home())
    if as_json:
        echo_json([{"status": c.status, "check": c.name, "detail": c.detail} for c in checks])
    else:
        for check in checks:
            click.echo(check.line())
    if any(check.status == "fail" for check in checks):
        click.get_current_context().exit(1)
