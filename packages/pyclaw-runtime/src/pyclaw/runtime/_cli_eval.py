"""``pyclaw eval replay | run | export | import``: recorded sessions as regression checks."""

# ruff: noqa: PLC0415 - heavy imports happen inside commands so that 'pyclaw --help' stays fast

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pyclaw.runtime._cli_common import current_home, json_option, setup_logging

_FILE = click.Path(dir_okay=False, path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])


def judge_options(fn: F) -> F:
    """``--judge ROUTER`` and ``--judge-criteria TEXT``."""
    fn = click.option(
        "--judge-criteria",
        default="",
        help="What the judge checks the answers against (sent to it as is).",
    )(fn)
    return click.option(
        "--judge",
        metavar="ROUTER",
        help="Also ask a Cortensor router whether each answer holds: 'cortensor' (the router "
        "of the delegate tool) or a provider name. INVALID fails the case; RETRY, NEEDS_SPEC "
        "or a judge error fail it as inconclusive.",
    )(fn)


@click.group("eval")
def eval_group() -> None:
    """Regression replays of recorded sessions (exit 0 all pass, 1 regression, 2 usage error)."""


def _finish(report: Any, as_json: bool, out_json: Path | None, out_html: Path | None) -> int:
    from pyclaw.runtime._eval_view import console, render, write_reports

    write_reports(report, out_json, out_html)
    if as_json:
        click.echo(report.to_json())
    else:
        render(report, console())
    code: int = report.exit_code
    return code


@eval_group.command("replay")
@click.argument("session_ids", nargs=-1, required=True)
@click.option("--agent", help="Replay with this agent (default: the one that recorded it).")
@click.option("--provider", help="Answer with this configured provider instead of the agent's.")
@click.option("--model", help="Answer with this model id.")
@click.option(
    "--tools",
    type=click.Choice(["recorded", "live"]),
    default="recorded",
    show_default=True,
    help="Serve tool results from the recording, or run the tools for real under policy.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Attempts per case (pass^k).",
)
@click.option(
    "--compare",
    default="exact",
    show_default=True,
    help="Answer check: exact | normalized | module:function.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Compare with this earlier report.",
)
@click.option("--report", "out_json", type=_FILE, help="Write the JSON report here.")
@click.option("--html", "out_html", type=_FILE, help="Write an HTML report here.")
@click.option(
    "--strict",
    is_flag=True,
    help="Serve the recorded model responses and fail on any event difference.",
)
@judge_options
@json_option
def replay_command(
    *,
    session_ids: tuple[str, ...],
    agent: str | None,
    provider: str | None,
    model: str | None,
    tools: str,
    repeat: int,
    compare: str,
    baseline: Path | None,
    out_json: Path | None,
    out_html: Path | None,
    strict: bool,
    judge: str | None,
    judge_criteria: str,
    as_json: bool,
) -> int:
    """Replay each recorded user turn of SESSION_IDS through the current code and compare."""
    setup_logging()
    from pyclaw.eval import ReplayOptions, comparator
    from pyclaw.meta import UsageError
    from pyclaw.runtime._eval import ReplayRequest, replay_sessions
    from pyclaw.runtime._eval_view import console, progress
    from pyclaw.runtime._eval_wiring import ModelChoice
    from pyclaw.runtime._waits import show_waits

    if strict and (provider or model):
        raise UsageError("--strict replays the recorded model responses: drop --provider/--model")
    options = ReplayOptions(
        strict=strict,
        tools="live" if tools == "live" else "recorded",
        repeat=repeat,
        compare=comparator(compare),
        agent=agent,
    )
    request = ReplayRequest(
        session_ids=list(dict.fromkeys(session_ids)),
        options=options,
        agent=agent,
        choice=ModelChoice(provider, model),
        baseline=baseline,
        judge=judge,
        judge_criteria=judge_criteria,
    )
    with progress(console()) as (set_total, case_done), show_waits(not as_json):
        report = asyncio.run(
            replay_sessions(current_home(), request, on_case=case_done, on_total=set_total)
        )
    return _finish(report, as_json, out_json, out_html)


@eval_group.command("run")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--provider", help="Answer with this configured provider instead of the agents'.")
@click.option("--model", help="Answer with this model id.")
@click.option("--report", "out_json", type=_FILE, help="Write the JSON report here.")
@click.option("--html", "out_html", type=_FILE, help="Write an HTML report here.")
@judge_options
@json_option
def run_command(
    *,
    suite: Path,
    provider: str | None,
    model: str | None,
    out_json: Path | None,
    out_html: Path | None,
    judge: str | None,
    judge_criteria: str,
    as_json: bool,
) -> int:
    """Run an eval suite file (TOML, or YAML): replays and inline prompts with assertions."""
    setup_logging()
    from pyclaw.runtime._eval import run_suite_file
    from pyclaw.runtime._eval_view import console, progress
    from pyclaw.runtime._eval_wiring import ModelChoice
    from pyclaw.runtime._waits import show_waits

    with progress(console()) as (_, case_done), show_waits(not as_json):
        report = asyncio.run(
            run_suite_file(
                current_home(),
                suite,
                choice=ModelChoice(provider, model),
                on_case=case_done,
                judge=judge,
                judge_criteria=judge_criteria,
            )
        )
    return _finish(report, as_json, out_json, out_html)


@eval_group.command("export")
@click.argument("session_id")
@click.option("-o", "--output", type=_FILE, help="Write the bundle to FILE (default: stdout).")
def export_command(session_id: str, output: Path | None) -> None:
    """Export a session as a portable bundle with secrets redacted."""
    setup_logging()
    from pyclaw.meta import atomic_write_text
    from pyclaw.runtime._eval import export_session_bundle

    bundle = asyncio.run(export_session_bundle(current_home(), session_id))
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
        return
    atomic_write_text(output, text + "\n")
    events = bundle["events"]
    count = len(events) if isinstance(events, list) else 0
    click.echo(f"exported {count} events of {session_id} to {output}", err=True)


@eval_group.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agent", help="Record the session under this agent (default: the bundle's).")
def import_command(bundle: Path, agent: str | None) -> None:
    """Import a session bundle as a new session; prints its id."""
    setup_logging()
    from pyclaw.runtime._eval import import_session_bundle

    info = asyncio.run(import_session_bundle(current_home(), bundle, agent=agent))
    click.echo(info.id)
