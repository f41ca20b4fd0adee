"""What ``pyclaw eval`` shows while and after it runs: a progress bar, the table of cases and the
diffs of what failed (all on stderr, rich), and the report files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pyclaw.eval import CaseReport, Judgement, Observed, ReplayReport, render_html
from pyclaw.meta import atomic_write_text


def console() -> Console:
    stream = sys.stderr
    terminal = stream.isatty()
    return Console(file=stream, highlight=False, width=None if terminal else 160)


@contextmanager
def progress(out: Console) -> Generator[tuple[Callable[[int], None], Callable[[CaseReport], None]]]:
    """``(set_total, case_done)`` callbacks driving a progress bar (shown on a terminal only)."""
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )
    task = bar.add_task("replay", total=None, last="")

    def set_total(total: int) -> None:
        bar.update(task, total=total)

    def case_done(case: CaseReport) -> None:
        mark = "ok" if case.passed else "FAIL"
        bar.update(task, advance=len(case.attempts), last=f"{case.id} {mark}")

    with bar:
        yield set_total, case_done


def _tokens(seen: Observed | None) -> str:
    return "-" if seen is None else str(seen.usage.total_tokens)


def _ms(seen: Observed | None) -> str:
    return "-" if seen is None or seen.latency_ms is None else f"{seen.latency_ms:.0f}"


def _verdicts(case: CaseReport) -> Text:
    """The judge's verdict per attempt (``VALID 0.90``; ``error``; ``-`` for no answer)."""
    judged = [a.judgement for a in case.attempts if a.judgement is not None]
    text = Text()
    for index, judgement in enumerate(judged):
        if index:
            text.append(", ")
        style = {"valid": "green", "invalid": "bold red"}.get(judgement.outcome, "yellow")
        text.append(judgement.label(), style=style)
    return text if judged else Text("-")


def _judge_line(report: ReplayReport) -> str:
    """``judge router: 3 valid, 1 invalid, 0 inconclusive``, and what went wrong when it erred."""
    s = report.summary
    line = (
        f"judge {report.settings.get('judge') or '?'}: {s.judge_valid} valid, "
        f"{s.judge_invalid} invalid, {s.judge_inconclusive} inconclusive"
    )
    errors: list[Judgement] = [
        a.judgement
        for c in report.cases
        for a in c.attempts
        if a.judgement is not None and a.judgement.error is not None
    ]
    if errors:
        line += f"; the judge failed on {len(errors)} attempt(s): {errors[0].error}"
    return line


def render(report: ReplayReport, out: Console) -> None:
    """The table of cases, then each failure with its diff, then one summary line (and one for
    the judge's verdicts when a judge ran)."""
    judged = any(a.judgement is not None for c in report.cases for a in c.attempts)
    grid = Table(box=None, header_style="bold", pad_edge=False)
    headers = ["case", "result", "failed checks", "tokens rec→now", "cost $", "ms rec→now"]
    for header in [*headers, *(["judge"] if judged else []), "baseline"]:
        grid.add_column(header)
    for case in report.cases:
        last = case.attempts[-1]
        verdict = Text(f"{'pass' if case.passed else 'FAIL'} {case.passes}/{len(case.attempts)}")
        verdict.stylize("green" if case.passed else "bold red")
        failed = sorted({c.name for a in case.attempts for c in a.failures})
        grid.add_row(
            Text(case.name or case.id),
            verdict,
            Text(", ".join(failed) or "-"),
            Text(f"{_tokens(case.recorded)}→{_tokens(last.observed)}"),
            Text(f"{last.observed.cost_usd:.4f}"),
            Text(f"{_ms(case.recorded)}→{_ms(last.observed)}"),
            *([_verdicts(case)] if judged else []),
            Text(case.baseline or "-"),
        )
    out.print(grid)
    for case in report.cases:
        failing = next((a for a in case.attempts if not a.passed), None)
        if failing is None:
            continue
        out.print(
            Text(f"\n{case.name or case.id}: {case.prompt[:100]}", style="bold"), soft_wrap=True
        )
        for check in failing.failures:
            out.print(Text(f"  {check.name}: {check.detail}"), soft_wrap=True)
            if check.diff:
                out.print(Text("    " + check.diff.replace("\n", "\n    ")), soft_wrap=True)
    s = report.summary
    line = (
        f"\n{s.passed} of {s.cases} case(s) passed (pass^k {s.pass_hat_k:.2f}); "
        f"{s.tokens} tokens, ${s.cost_usd:.4f}, {s.seconds:.2f} s"
    )
    if report.baseline is not None:
        line += f"; against {report.baseline}: {s.improved} improved, {s.regressed} regressed"
    out.print(Text(line), soft_wrap=True)
    if judged:
        out.print(Text(_judge_line(report)), soft_wrap=True)


def write_reports(report: ReplayReport, json_path: Path | None, html_path: Path | None) -> None:
    if json_path is not None:
        report.write(json_path)
    if html_path is not None:
        atomic_write_text(html_path, render_html(report))
