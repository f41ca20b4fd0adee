"""The bench harness: discovers bench modules, runs each, prints one table, writes JSON.

A bench module is any public module of the ``bench`` package with ``run(quick: bool) -> list[dict]``.
Each row is ``{"name": str, "value": float, "unit": str, "target": str | float | None,
"ok": bool | None}`` (extra keys such as ``"detail"`` are kept in the JSON). ``ok`` is ``None`` for an
informational row without a target. A module that raises, or returns malformed rows, shows up as one
✗ row carrying the error instead of stopping the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.json"


@dataclass(frozen=True)
class Row:
    """One measured number."""

    name: str
    value: float
    unit: str
    target: str | float | None = None
    ok: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict[str, Any])

    @classmethod
    def parse(cls, raw: object) -> Row:
        """Validate one row as returned by a bench module."""
        if not isinstance(raw, Mapping):
            raise TypeError(f"a row must be a dict, got {type(raw).__name__}")
        data = cast(Mapping[str, Any], raw)
        name, value, unit = data.get("name"), data.get("value"), data.get("unit")
        target, ok = data.get("target"), data.get("ok")
        if not isinstance(name, str) or not isinstance(unit, str):
            raise TypeError(f"row {data!r}: 'name' and 'unit' must be strings")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"row {name!r}: 'value' must be a number, got {value!r}")
        if target is not None and (
            isinstance(target, bool) or not isinstance(target, str | int | float)
        ):
            raise TypeError(f"row {name!r}: 'target' must be a string, a number or None")
        if ok is not None and not isinstance(ok, bool):
            raise TypeError(f"row {name!r}: 'ok' must be true, false or None")
        known = {"name", "value", "unit", "target", "ok"}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(name, float(value), unit, target, ok, extra)

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(row.pop("extra"))
        return row


@dataclass
class BenchResult:
    """What one bench module produced."""

    module: str
    rows: list[Row] = field(default_factory=list[Row])
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "rows": [row.to_json() for row in self.rows],
        }


def discover(directory: Path = BENCH_DIR) -> list[str]:
    """Names of the bench modules in ``directory`` (public modules, sorted)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(directory)])
        if not info.name.startswith("_") and not info.ispkg
    )


def run_module(name: str, *, quick: bool, package: str = "bench") -> BenchResult:
    """Import ``package.name`` and run it; any failure becomes the result's ``error``."""
    result = BenchResult(name)
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"{package}.{name}")
        run = getattr(module, "run", None)
        if not callable(run):
            raise TypeError(f"bench.{name} has no run(quick) function")
        raw = run(quick=quick)
        if not isinstance(raw, list):
            raise TypeError(f"run() must return a list of rows, got {type(raw).__name__}")
        result.rows = [Row.parse(item) for item in cast(list[object], raw)]
        if not result.rows:
            raise ValueError("run() returned no rows")
    except Exception as exc:  # noqa: BLE001 - a failing bench is reported as a ✗ row, not a crash
        result.rows = []
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
    return result


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average": list(load) if load else None,
    }


def format_value(value: float) -> str:
    if value == int(value) and abs(value) >= 1000:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(results: Sequence[BenchResult], console: Console) -> None:
    """Print every result as one table."""
    table = Table(title="PyClaw benchmarks", title_justify="left")
    for column, justify in [
        ("bench", "left"),
        ("metric", "left"),
        ("value", "right"),
        ("unit", "left"),
        ("target", "left"),
        ("ok", "center"),
    ]:
        table.add_column(column, justify=justify)  # pyright: ignore[reportArgumentType] - literal values
    for result in results:
        if result.error is not None:
            table.add_row(result.module, f"[red]{result.error}[/red]", "—", "", "", "[red]✗[/red]")
            continue
        for row in result.rows:
            mark = {True: "[green]✓[/green]", False: "[red]✗[/red]", None: ""}[row.ok]
            target = "" if row.target is None else str(row.target)
            table.add_row(result.module, row.name, format_value(row.value), row.unit, target, mark)
    console.print(table)


def write_json(results: Sequence[BenchResult], path: Path, *, quick: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine_info(),
        "quick": quick,
        "benches": [result.to_json() for result in results],
    }
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run PyClaw's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run just this bench")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the JSON report here")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a row misses its target, too"
    )
    args = parser.parse_args(list(argv))
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)  # logs and CI: no wrapping at 80 columns
    available = discover()
    names: list[str] = args.only or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        console.print(f"bench: unknown bench {', '.join(unknown)} (have: {', '.join(available)})")
        return 2
    results: list[BenchResult] = []
    for index, name in enumerate(names, start=1):
        console.print(f"bench: [{index}/{len(names)}] {name} …", markup=False)
        result = run_module(name, quick=args.quick)
        outcome = f"failed: {result.error}" if result.error else f"{len(result.rows)} rows"
        console.print(
            f"bench: [{index}/{len(names)}] {name} {outcome} ({result.seconds:.1f}s)", markup=False
        )
        results.append(result)
    render(results, console)
    write_json(results, RESULTS, quick=args.quick)
    if args.json is not None:
        write_json(results, args.json, quick=args.quick)
    console.print(f"bench: wrote {RESULTS.relative_to(BENCH_DIR.parent)}", markup=False)
    if any(r.error for r in results):
        return 1
    if args.strict and any(row.ok is False for r in results for row in r.rows):
        return 1
    return 0
