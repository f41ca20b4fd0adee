"""``pyclaw db migrate``."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging


@click.group()
def db() -> None:
    """The PyClaw database (pyclaw.db in the home)."""


def versions_text(versions: dict[str, int]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items())) or "empty"


@db.command("migrate")
@json_option
def migrate(as_json: bool) -> None:
    """Apply pending schema migrations (prints what was applied, or 'up to date')."""
    setup_logging()
    from pyclaw.runtime._services import open_database

    database = open_database(current_home(), migrate=False)
    try:
        applied = database.migrate()
        versions = database.schema_versions()
    finally:
        database.close()
    if as_json:
        echo_json(
            {
                "applied": [step.model_dump(mode="json") for step in applied],
                "versions": versions,
            }
        )
        return
    for step in applied:
        click.echo(f"applied {step.component} {step.version}: {step.name}")
    state = "migrated" if applied else "up to date"
    click.echo(f"{state}: {versions_text(versions)}")
