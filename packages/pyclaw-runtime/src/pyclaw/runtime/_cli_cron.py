"""``pyclaw cron add | list | rm | run | enable | disable | history``."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

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


@click.group()
def cron() -> None:
    """Scheduled prompts: [[cron]] entries of pyclaw.toml and jobs added here.

    The daemon fires them; 'pyclaw cron run NAME' runs one now, in this process.
    """


@cron.command("add")
@click.option("--name", required=True, help="A unique name (letters, digits, '_', '.', '-').")
@click.option("--schedule", help='A crontab: "MIN HOUR DAY MONTH WEEKDAY" or @daily, @hourly…')
@click.option("--every", help="An interval instead of a crontab: 30s, 5m, 1h30m, 1d.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone of the schedule.")
@click.option("--agent", help="The agent to run (default: default_agent).")
@click.option("--prompt", required=True, help="What to ask the agent at each firing.")
@click.option(
    "--mode",
    type=click.Choice(["main", "isolated"]),
    default="isolated",
    show_default=True,
    help="isolated: a new session per firing; main: the agent's one cron session.",
)
@click.option(
    "--deliver",
    type=click.Choice(["announce", "webhook", "silent"]),
    default="announce",
    show_default=True,
    help="Where the daemon sends the answer.",
)
@click.option("--target", help="Chat id (announce) or http(s) URL (webhook).")
@json_option
def add_command(as_json: bool, **fields: str | None) -> None:
    """Add a scheduled prompt (exactly one of --schedule or --every)."""
    setup_logging()
    if (fields["schedule"] is None) == (fields["every"] is None):
        raise click.UsageError("give exactly one of --schedule or --every")
    from pyclaw.runtime import _cron_cli

    entry = _cron_cli.add_job(current_home(), fields)
    if as_json:
        echo_json(_cron_cli.entry_json(entry))
        return
    click.echo(f"added cron job {entry.job.name!r}; next run {_cron_cli.next_run_text(entry)}")


@cron.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List scheduled prompts with their next run (in each job's time zone)."""
    setup_logging()
    from pyclaw.runtime import _cron_cli
    from pyclaw.runtime._render import clip, table

    entries = _cron_cli.list_jobs(current_home())
    if as_json:
        echo_json([_cron_cli.entry_json(entry) for entry in entries])
        return
    if not entries:
        click.echo("no cron jobs")
        return
    rows = [
        [
            e.job.name,
            _cron_cli.schedule_text(e.job),
            e.job.timezone,
            _cron_cli.next_run_text(e),
            e.job.agent or "-",
            e.job.mode,
            e.job.deliver,
            e.source,
            clip(_cron_cli.state_text(e), 60),
            clip(e.job.prompt, 40),
        ]
        for e in entries
    ]
    headers = ["name", "schedule", "timezone", "next run", "agent", "mode", "deliver", "source"]
    table([*headers, "state", "prompt"], rows)


@cron.command("rm")
@click.argument("name")
def rm_command(name: str) -> None:
    """Remove a job added with 'pyclaw cron add' ([[cron]] entries live in pyclaw.toml)."""
    setup_logging()
    from pyclaw.runtime import _cron_cli

    _cron_cli.remove_job(current_home(), name)
    click.echo(f"removed cron job {name!r}")


@cron.command("enable")
@click.argument("name")
@json_option
def enable_command(name: str, as_json: bool) -> None:
    """Turn a disabled job back on (its failure count reset; missed runs are not made up)."""
    _set_enabled(name, enabled=True, as_json=as_json)


@cron.command("disable")
@click.argument("name")
@json_option
def disable_command(name: str, as_json: bool) -> None:
    """Stop firing a job without removing it."""
    _set_enabled(name, enabled=False, as_json=as_json)


def _set_enabled(name: str, *, enabled: bool, as_json: bool) -> None:
    setup_logging()
    from pyclaw.runtime import _cron_cli

    entry = _cron_cli.set_enabled(current_home(), name, enabled=enabled)
    if as_json:
        echo_json(_cron_cli.entry_json(entry))
    elif enabled:
        click.echo(f"enabled cron job {name!r}; next run {_cron_cli.next_run_text(entry)}")
    else:
        click.echo(f"disabled cron job {name!r}")


@cron.command("history")
@click.argument("name", required=False)
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
def history_command(name: str | None, limit: int, as_json: bool) -> None:
    """Recorded firings (of one job, or all), newest first, with how they were delivered."""
    setup_logging()
    from pyclaw.runtime import _cron_cli
    from pyclaw.runtime._render import clip, table, when

    runs = _cron_cli.job_runs(current_home(), name, limit)
    if as_json:
        echo_json([_cron_cli.run_json(run) for run in runs])
        return
    if not runs:
        click.echo("no cron runs")
        return
    rows = [
        [
            run.job_name,
            when(run.scheduled_for),
            run.trigger,
            str(run.attempt),
            run.status,
            run.delivery or "-",
            clip(run.error or run.delivery_error or "", 60),
        ]
        for run in runs
    ]
    headers = ["name", "scheduled for", "trigger", "attempt", "status", "delivery", "error"]
    table(headers, rows)


@cron.command("run")
@click.argument("name")
@click.option("-q", "--quiet", is_flag=True, help="Do not show tool activity on stderr.")
@json_option
def run_command(name: str, quiet: bool, as_json: bool) -> None:
    """Run a job now, in this process, and print the agent's answer (not delivered)."""
    setup_logging()
    from pyclaw.runtime import _cron_cli
    from pyclaw.runtime._chat import print_result, result_json

    outcome = asyncio.run(
        _cron_cli.run_job_now(
            current_home(),
            name,
            interactive=stdin_is_terminal(),
            verbose=not quiet and not as_json,
        )
    )
    if as_json:
        echo_json(
            {
                "name": outcome.job.name,
                "scheduled_for": outcome.scheduled_for.isoformat(),
                **result_json(outcome.session, outcome.result),
                "delivered": False,
            }
        )
    else:
        print_result(outcome.result)
        if outcome.job.deliver != "silent":
            click.echo(
                f"(recorded; not delivered: '{outcome.job.deliver}' delivery is done by the "
                "daemon for scheduled firings)",
                err=True,
            )
    if outcome.result.status.value != "succeeded":
        raise SystemExit(1)
