"""``pyclaw daemon [--install-service] [--log-format json|console]``."""

# ruff: noqa: PLC0415 - the daemon's stack is imported inside the command so 'pyclaw --help' stays fast

from __future__ import annotations

import os
import shutil
import sys

import click

from pyclaw.runtime._cli_common import current_home


@click.command()
@click.option(
    "--install-service",
    is_flag=True,
    help="Write a systemd user unit for this home instead of running (then enable it).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    help="Log format on stderr: JSON lines, or human-readable (auto: human on a terminal). "
    "logs/pyclaw.log always gets JSON.",
)
def daemon(install_service: bool, log_format: str) -> None:
    """Run the daemon in the foreground: Telegram, `pyclaw chat`, cron, until SIGTERM.

    With no configuration it runs the embedded local model and answers `pyclaw chat`; with
    [telegram] configured it also polls Telegram.
    """
    home = current_home()
    if install_service:
        from pyclaw.runtime._systemd import write_user_unit

        executable = shutil.which("pyclaw") or os.path.abspath(sys.argv[0])
        unit = write_user_unit(home, executable=executable)
        click.echo(f"wrote {unit.path}")
        for line in unit.next_steps:
            click.echo(f"  {line}")
        return
    import asyncio

    from pyclaw.runtime._config_load import load_config
    from pyclaw.runtime._daemon_service import serve
    from pyclaw.runtime._logging import LogMode, configure_logging

    human = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    mode: LogMode = "console" if human else "json"
    configure_logging(mode, level=os.environ.get("PYCLAW_LOG_LEVEL", "INFO"), log_dir=home.logs_dir)
    import logging

    for noisy in ("httpx", "httpcore"):  # a line per HTTP request: not worth its cost in a daemon
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = load_config(home.config_path)
    asyncio.run(serve(home, config))
