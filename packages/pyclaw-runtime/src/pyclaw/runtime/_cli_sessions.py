"""``pyclaw sessions list | show | export | verify``."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from pyclaw.runtime._cli_common import current_home, echo_json, json_option, setup_logging


@click.group()
def sessions() -> None:
    """Recorded sessions: their events, exports and hash-chain checks."""


@sessions.command("list")
@json_option
@click.option("--agent", help="Only sessions of this agent.")
@click.option("--channel", help="Only sessions from this channel.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(as_json: bool, agent: str | None, channel: str | None, limit: int) -> None:
    """List sessions, most recent first."""
    setup_logging()
    from pyclaw.runtime import _sessions
    from pyclaw.runtime._render import table, when

    infos = asyncio.run(
        _sessions.list_sessions(current_home(), limit=limit, agent=agent, channel=channel)
    )
    if as_json:
        echo_json([info.model_dump(mode="json") for info in infos])
        return
    if not infos:
        click.echo("no sessions")
        return
    rows = [
        [i.id, i.agent, i.channel, when(i.created_at), str(i.event_count), i.title or ""]
        for i in infos
    ]
    table(["id", "agent", "channel", "created", "events", "title"], rows)


@sessions.command("show")
@click.argument("session_id")
@json_option
def show_command(session_id: str, as_json: bool) -> None:
    """Show a session's events in order (a transcript, or JSON)."""
    setup_logging()
    from pyclaw.runtime import _sessions
    from pyclaw.runtime._transcript import event_line, header

    info, events = asyncio.run(_sessions.show_session(current_home(), session_id))
    if as_json:
        echo_json([event.model_dump(mode="json") for event in events])
        return
    click.echo(header(info))
    for event in events:
        click.echo(event_line(event))


@sessions.command("export")
@click.argument("session_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)
def export_command(session_id: str, output: Path | None) -> None:
    """Export a session as a JSON bundle (format 'pyclaw-session', version 1)."""
    setup_logging()
    from pyclaw.meta import atomic_write_text
    from pyclaw.runtime import _sessions

    bundle = asyncio.run(_sessions.export_session(current_home(), session_id))
    if output is None:
        click.echo(json.dumps(bundle, indent=2, ensure_ascii=False))
        return
    atomic_write_text(output, json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(bundle['events'])} events of {session_id} to {output}", err=True)


@sessions.command("verify")
@click.argument("session_ids", nargs=-1)
@click.option("--all", "all_sessions", is_flag=True, help="Verify every session.")
@json_option
def verify_command(session_ids: tuple[str, ...], all_sessions: bool, as_json: bool) -> None:
    """Check the hash chain of sessions (exit 4 when one is broken)."""
    setup_logging()
    from pyclaw.runtime import _sessions

    reports = asyncio.run(
        _sessions.verify_sessions(current_home(), session_ids, all_sessions=all_sessions)
    )
    if as_json:
        echo_json([report.model_dump(mode="json") for report in reports])
    else:
        for report in reports:
            if report.ok:
                click.echo(
                    f"ok    {report.session_id}: {report.events} events, head {report.head_hash[:12]}"
                )
            for problem in report.problems:
                event = f" ({problem.event_id})" if problem.event_id else ""
                click.echo(
                    f"FAIL  {report.session_id}: seq {problem.seq}{event}: {problem.problem}"
                )
    error = _sessions.broken_error(reports)
    if error is not None:
        raise error
