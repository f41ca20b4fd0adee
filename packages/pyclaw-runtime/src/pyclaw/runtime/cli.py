"""The ``pyclaw`` command.

Only click and the standard library are imported here: subcommands live in their own modules,
loaded on use (``LazyGroup``), and import pydantic, storage and rich inside their functions, so
``pyclaw --help`` stays fast. Every failure ends as one line on stderr and an exit status:
``PyClawError`` → its ``exit_code`` (2 usage/config, 3 schema too new, 4 integrity, 1 other),
click usage errors → 2, anything unexpected → 70.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from pyclaw.runtime._cli_lazy import LazyGroup

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
MAX_HELP_WIDTH = 100
_M = "pyclaw.runtime._cli_"

COMMANDS: dict[str, tuple[str, str]] = {
    "init": (f"{_M}init:init", "Create pyclaw.toml, the home directory and the database."),
    "daemon": (f"{_M}daemon:daemon", "Run the daemon in the foreground (Telegram, chat, cron)."),
    "chat": (f"{_M}chat:chat", "Talk to an agent from the terminal (or send one message: -m)."),
    "sessions": (f"{_M}sessions:sessions", "Recorded sessions: list | show | export | verify."),
    "runs": (f"{_M}runs:runs", "Agent runs: list | show | stop."),
    "cron": (f"{_M}cron:cron", "Cron jobs: add | list | rm | run | enable | disable | history."),
    "pairing": (f"{_M}pairing:pairing", "Telegram pairing: list | approve | revoke."),
    "grants": (f"{_M}policy:grants", "Tool permissions: list | revoke."),
    "approvals": (f"{_M}policy:approvals", "Pending approvals: list | approve | deny."),
    "tools": (f"{_M}tools:tools", "Tools agents can call: list."),
    "secrets": (f"{_M}secrets:secrets", "Stored secrets: set | list | rm (values never shown)."),
    "eval": (f"{_M}eval:eval_group", "Regression replays: replay | run | export | import."),
    "doctor": (f"{_M}doctor:doctor", "Check the home, config, secrets, database and disk."),
    "db": (f"{_M}db:db", "The database: migrate."),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=str),
    help="PyClaw home directory (default: $PYCLAW_HOME or ~/.pyclaw).",
)
@click.version_option(package_name="pyclaw-runtime", prog_name="pyclaw")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """PyClaw: a local-first agent daemon with an auditable trail."""
    ctx.obj = {"home": home}


def _help_width() -> int:
    """What click's help formatter would compute, without importing shutil (and bz2, lzma…)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    stream = sys.__stdout__
    if columns <= 0 and stream is not None:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
    columns = columns if columns > 0 else 80
    return max(min(columns, MAX_HELP_WIDTH) - 2, 50)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _usage_error(exc: click.UsageError) -> int:
    where = exc.ctx.command_path if exc.ctx is not None else "pyclaw"
    click.echo(f"pyclaw: error: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
    return 2


def _unexpected(exc: BaseException) -> int:
    errors = sys.modules.get("pyclaw.meta._errors")
    if errors is not None and isinstance(exc, errors.PyClawError):
        click.echo(f"pyclaw: error: {_one_line(exc)}", err=True)
        code: object = getattr(exc, "exit_code", 1)
        return code if isinstance(code, int) else 1
    click.echo(
        f"pyclaw: internal error: {type(exc).__name__}: {_one_line(exc)} "
        "(set PYCLAW_DEBUG=1 for a traceback)",
        err=True,
    )
    return EXIT_INTERNAL


def run(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per failure kind
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    debug = os.environ.get("PYCLAW_DEBUG", "") not in ("", "0")
    try:
        result = cli.main(
            args=argv, prog_name="pyclaw", standalone_mode=False, terminal_width=_help_width()
        )
    except click.UsageError as exc:
        return _usage_error(exc)
    except click.ClickException as exc:
        click.echo(f"pyclaw: error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("pyclaw: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"pyclaw: error: {exc.strerror or _one_line(exc)}{where}", err=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if debug:
            import traceback  # noqa: PLC0415 - only on the error path

            traceback.print_exc()
        return _unexpected(exc)
    return result if isinstance(result, int) else 0


def _silence_stdout() -> None:
    """After a closed pipe (``pyclaw … | head``), stop Python's exit-time flush from failing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point of ``pyclaw``."""
    sys.exit(run(argv))
