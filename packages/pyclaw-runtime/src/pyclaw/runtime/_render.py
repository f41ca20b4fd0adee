"""Human output: tables (rich on a terminal, tab-separated when piped) and short forms of values."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text


def when(ts: datetime | None) -> str:
    """A timestamp for humans: local time to the second."""
    return "-" if ts is None else ts.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def clip(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under headers: a rich table on a terminal, tab-separated lines otherwise."""
    if not sys.stdout.isatty():
        click.echo("\t".join(headers))
        for row in rows:
            click.echo("\t".join(cell.replace("\t", " ") for cell in row))
        return
    grid = Table(*headers, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    Console(highlight=False).print(grid)
