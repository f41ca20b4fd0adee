"""PyClaw's benchmarks: measured numbers reported as a table (not timed tests).

Run ``uv run python -m bench [--quick] [--only NAME] [--json OUT]``. Every public module here
(``cli_start``, ``storage``, …) exposes ``run(quick: bool) -> list[dict]`` returning rows
``{"name", "value", "unit", "target", "ok"}``; the harness (``bench/_harness.py``) discovers them,
prints one table and writes ``bench/results/latest.json``.
"""

from bench._harness import BenchResult, Row, discover, main, run_module

__all__ = ["BenchResult", "Row", "discover", "main", "run_module"]
