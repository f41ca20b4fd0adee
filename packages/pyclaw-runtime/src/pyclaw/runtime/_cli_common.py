"""Helpers shared by the CLI commands (click and the standard library only)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from pyclaw.runtime._home import PyClawHome

F = TypeVar("F", bound=Callable[..., Any])


def current_home() -> PyClawHome:
    """The home chosen by ``pyclaw --home``, else ``$PYCLAW_HOME``, else ``~/.pyclaw``."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    chosen = cast("dict[str, str | None]", obj).get("home") if isinstance(obj, dict) else None
    return PyClawHome.at(chosen) if chosen else PyClawHome.from_env()


def stdin_is_terminal() -> bool:
    """Whether a human can answer prompts (stdin is a TTY)."""
    return sys.stdin.isatty()


def json_option(fn: F) -> F:
    """``--json``: print machine-readable JSON instead of the human form."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def setup_logging() -> None:
    """Console logging to stderr at ``$PYCLAW_LOG_LEVEL`` (default WARNING)."""
    from pyclaw.runtime._logging import configure_logging  # noqa: PLC0415 - lazy: structlog

    configure_logging("console", level=os.environ.get("PYCLAW_LOG_LEVEL", "WARNING"))
