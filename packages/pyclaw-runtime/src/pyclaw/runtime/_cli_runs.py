"""``pyclaw runs list | show | stop``."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import asyncio

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging

STATUSES = ("running", "succeeded", "failed", "cancelled", "interrupted")


@click.group()
def runs() -> None:
    """Agent runs (turns, missions, cron firings) recorded in the session log."""


@runs.command("list")
@json_option
@click.option("--session", "session_id", help="Only runs of this session.")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(as_json: bool, session_id: str | None, status: str | None, limit: int) -> None:
    """List runs, most recently started first."""
    setup_logging()
    from pyclaw.runtime import _sessions
    from pyclaw.runtime._render import table, when

    records = asyncio.run(
        _sessions.list_runs(current_home(), session_id=session_id, status=status, limit=limit)
    )
    if as_json:
        echo_json([record.model_dump(mode="json") for record in records])
        return
    if not records:
        click.echo("no runs")
        return
    rows = [
        [
            r.id,
            r.session_id,
            r.agent,
            r.status.value,
            when(r.started_at),
            when(r.finished_at),
            str(r.usage.total_tokens),
        ]
        for r in records
    ]
    table(["id", "session", "agent", "status", "started", "finished", "tokens"], rows)


@runs.command("show")
@click.argument("run_id")
@json_option
def show_command(run_id: str, as_json: bool) -> None:
    """Show one run record."""
    setup_logging()
    from pyclaw.runtime import _sessions
    from pyclaw.runtime._render import when

    record = asyncio.run(_sessions.get_run(current_home(), run_id))
    if as_json:
        echo_json(record.model_dump(mode="json"))
        return
    u = record.usage
    lines = [
        ("run", record.id),
        ("session", record.session_id),
        ("agent", record.agent),
        ("status", record.status.value),
        ("trigger", record.trigger or "-"),
        ("started", when(record.started_at)),
        ("finished", when(record.finished_at)),
        ("tokens", f"{u.input_tokens} in / {u.output_tokens} out / {u.cached_tokens} cached"),
        ("cost", f"${record.cost_usd:.4f}"),
    ]
    if record.error is not None:
        lines.append(("error", f"{record.error.type}: {record.error.message}"))
    for key, value in lines:
        click.echo(f"{key:<9} {value}")


@runs.command("stop")
@click.argument("run_id")
def stop_command(run_id: str) -> None:
    """Stop a run the daemon is running (its kill switch).

    Exit 1 when the run is not running in the daemon (finished, or no daemon runs), 2 when
    there is no run with this id.
    """
    setup_logging()
    from pyclaw.runtime._control_runs import stop_run

    click.echo(stop_run(current_home(), run_id))
